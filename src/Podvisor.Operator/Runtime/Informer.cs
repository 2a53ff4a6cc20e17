using System.Collections.Concurrent;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Podvisor.Operator.Runtime;

/// <summary>
/// A cache of one resource kind kept current the way client-go's reflector does it: list, then watch from
/// the list's resourceVersion (with bookmarks), re-watch from the last version seen when a watch ends, and
/// list again when the server says that version is gone (410). Every change of a cached object — added,
/// modified, deleted, or found different on a re-list — is reported as its key to <see cref="Changed"/>.
/// </summary>
public sealed class Informer<T> where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>Lists the objects: (items, resourceVersion of the list).</summary>
    public delegate Task<(IReadOnlyList<T> Items, string ResourceVersion)> ListFunction(CancellationToken cancellationToken);

    /// <summary>Watches from a resourceVersion; errors the server reports as Status events go to onError.</summary>
    public delegate IAsyncEnumerable<(WatchEventType Type, T Object)> WatchFunction(string resourceVersion, Action<Exception> onError,
        CancellationToken cancellationToken);

    private readonly ListFunction _list;
    private readonly WatchFunction _watch;
    private readonly ConcurrentDictionary<string, T> _cache = new();
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action<string>? _log;
    private string _resourceVersion = "";
    private CancellationTokenSource? _currentWatch;
    private string? _restartFrom;
    private readonly Func<T, string?>? _indexKey;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, T>> _index = new();

    /// <param name="indexKey">Optional: files each object under one index value (e.g. the key of its owner) for <see cref="ByIndex"/>.</param>
    public Informer(ListFunction list, WatchFunction watch, Action<string>? log = null, Func<T, string?>? indexKey = null)
    {
        _list = list;
        _watch = watch;
        _log = log;
        _indexKey = indexKey;
    }

    /// <summary>Called with the key of every object that changed (on the informer's own task).</summary>
    public event Action<string>? Changed;

    /// <summary>
    /// Called with every object that changed: its new state, or for a deletion its last known state (so a
    /// handler can still read the labels of an object that is gone).
    /// </summary>
    public event Action<T>? ObjectChanged;

    /// <summary>Completes once the first list is in the cache.</summary>
    public Task Synced => _synced.Task;

    /// <summary>How many times the informer listed (1 + re-lists after 410 Gone).</summary>
    public int Lists { get; private set; }

    public string ResourceVersion => Volatile.Read(ref _resourceVersion);

    public bool TryGet(string key, out T? value) => _cache.TryGetValue(key, out value);

    public IReadOnlyList<T> List() => [.. _cache.Values];

    /// <summary>The cached objects filed under <paramref name="indexValue"/> by the index function.</summary>
    public IReadOnlyList<T> ByIndex(string indexValue) => _index.TryGetValue(indexValue, out var objects) ? [.. objects.Values] : [];

    /// <summary>The index value of <paramref name="item"/>, or null (no index, or the object is not indexed).</summary>
    public string? IndexOf(T item) => _indexKey?.Invoke(item);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await RelistAsync(cancellationToken);
                while (await WatchOnceAsync(cancellationToken)) { }
                _log?.Invoke($"{typeof(T).Name}: resourceVersion {ResourceVersion} is gone; listing again");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or KubernetesException)
            {
                _log?.Invoke($"{typeof(T).Name}: {e.Message}; listing again in 1 s");
                // Stopped during the wait: the loop's condition ends it, as a stop anywhere else does (no exception).
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Test seam: end the current watch and start the next one from <paramref name="resourceVersion"/>.</summary>
    internal void RestartWatchFrom(string resourceVersion)
    {
        Volatile.Write(ref _restartFrom, resourceVersion);
        _currentWatch?.Cancel();
    }

    private async Task RelistAsync(CancellationToken cancellationToken)
    {
        var (items, resourceVersion) = await _list(cancellationToken);
        Lists++;
        var seen = new HashSet<string>();
        foreach (var item in items)
        {
            string key = ObjectKey.Of(item);
            seen.Add(key);
            bool changed = !_cache.TryGetValue(key, out var old) || old.Metadata.ResourceVersion != item.Metadata.ResourceVersion;
            Store(key, item);
            if (changed) Report(key, item);
        }
        foreach (string key in _cache.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            if (Remove(key) is { } gone) Report(key, gone);   // deleted while we were not watching
        }
        Volatile.Write(ref _resourceVersion, resourceVersion);
        _synced.TrySetResult();
    }

    /// <summary>One watch until the server ends it: true to watch again, false when a re-list is needed.</summary>
    private async Task<bool> WatchOnceAsync(CancellationToken cancellationToken)
    {
        using var watchCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _currentWatch = watchCancel;
        string from = Interlocked.Exchange(ref _restartFrom, null) ?? ResourceVersion;
        bool gone = false;
        try
        {
            await foreach (var (type, item) in _watch(from, e =>
                           {
                               if (e is KubernetesException { Status.Code: 410 }) gone = true;
                               else _log?.Invoke($"{typeof(T).Name} watch: {e.Message}");
                           }, watchCancel.Token))
            {
                Apply(type, item);
            }
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Gone)
        {
            gone = true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Restarted on purpose (RestartWatchFrom).
        }
        finally
        {
            _currentWatch = null;
        }
        return !gone;
    }

    private void Apply(WatchEventType type, T item)
    {
        if (item.Metadata?.ResourceVersion is { } version) Volatile.Write(ref _resourceVersion, version);
        if (type == WatchEventType.Bookmark) return;
        string key = ObjectKey.Of(item);
        if (type == WatchEventType.Deleted) Remove(key);
        else Store(key, item);
        Report(key, item);
    }

    private void Report(string key, T item)
    {
        Changed?.Invoke(key);
        ObjectChanged?.Invoke(item);
    }

    private void Store(string key, T item)
    {
        _cache.TryGetValue(key, out var old);
        _cache[key] = item;
        if (_indexKey is null) return;
        // File the new state before unfiling the old: a reader never sees the object missing from its index.
        string? value = _indexKey(item), oldValue = old is null ? null : _indexKey(old);
        if (value is not null) _index.GetOrAdd(value, _ => new())[key] = item;
        if (oldValue is not null && oldValue != value) Unindex(oldValue, key);
    }

    private T? Remove(string key)
    {
        if (!_cache.TryRemove(key, out var old)) return null;
        if (_indexKey?.Invoke(old) is { } value) Unindex(value, key);
        return old;
    }

    // Only the informer's own task writes the cache and the index, so emptying a set races with nothing.
    private void Unindex(string value, string key)
    {
        if (!_index.TryGetValue(value, out var set)) return;
        set.TryRemove(key, out _);
        if (set.IsEmpty) _index.TryRemove(value, out _);
    }
}
