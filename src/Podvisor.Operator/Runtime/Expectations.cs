namespace Podvisor.Operator.Runtime;

/// <summary>
/// client-go's controller expectations: after a controller creates or deletes objects for a key, it
/// expects to see those changes in its informer before acting on that key again, so a cache that lags
/// behind the API server never makes it create a second launcher pod. Expectations expire after
/// <see cref="Timeout"/> (a watch event that never comes must not block the key forever).
/// </summary>
public sealed class Expectations(TimeSpan? timeout = null, TimeProvider? time = null)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (int Adds, int Deletes, DateTimeOffset Set)> _pending = [];
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public TimeSpan Timeout { get; } = timeout ?? TimeSpan.FromMinutes(5);

    /// <summary>The controller is about to create <paramref name="adds"/> and delete <paramref name="deletes"/> objects for <paramref name="key"/>.</summary>
    public void Expect(string key, int adds = 0, int deletes = 0)
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var current = _pending.TryGetValue(key, out var p) && now - p.Set < Timeout ? p : (0, 0, now);
            _pending[key] = (current.Item1 + adds, current.Item2 + deletes, now);
        }
    }

    /// <summary>
    /// Level-based observation of the one object a key owns: present settles expected creations, absent
    /// settles expected deletions (whatever the informer event was).
    /// </summary>
    public void Observed(string key, bool exists)
    {
        lock (_lock)
        {
            if (!_pending.TryGetValue(key, out var p)) return;
            _pending[key] = exists ? (0, p.Deletes, p.Set) : (p.Adds, 0, p.Set);
        }
    }

    /// <summary>True when every expected change for <paramref name="key"/> has been seen (or expired): safe to act on the cache.</summary>
    public bool Satisfied(string key)
    {
        lock (_lock)
        {
            if (!_pending.TryGetValue(key, out var p)) return true;
            if ((p.Adds <= 0 && p.Deletes <= 0) || _time.GetUtcNow() - p.Set >= Timeout)
            {
                _pending.Remove(key);
                return true;
            }
            return false;
        }
    }

    /// <summary>Forgets <paramref name="key"/> (its object is gone).</summary>
    public void Delete(string key)
    {
        lock (_lock) _pending.Remove(key);
    }
}
