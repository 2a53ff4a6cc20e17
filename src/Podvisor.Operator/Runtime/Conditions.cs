using Podvisor.Api;

namespace Podvisor.Operator.Runtime;

/// <summary>
/// The one place that writes status conditions: a condition is replaced by type, its lastTransitionTime
/// moves only when its status changes (so watchers can tell a flip from a refresh), and reason/message
/// always reflect the latest observation.
/// </summary>
public static class Conditions
{
    public const string True = "True", False = "False", Unknown = "Unknown";

    /// <summary>Sets condition <paramref name="type"/> in <paramref name="conditions"/>; returns whether anything changed.</summary>
    public static bool Set(List<Condition> conditions, string type, string status, string? reason = null, string? message = null,
        DateTimeOffset? now = null)
    {
        if (status is not (True or False or Unknown)) throw new ArgumentException($"condition status must be True, False or Unknown, got {status}", nameof(status));
        var existing = conditions.FirstOrDefault(c => c.Type == type);
        var time = TruncateToSeconds(now ?? DateTimeOffset.UtcNow);
        if (existing is null)
        {
            conditions.Add(new Condition { Type = type, Status = status, Reason = reason, Message = message, LastTransitionTime = time });
            return true;
        }
        bool changed = existing.Status != status || existing.Reason != reason || existing.Message != message;
        if (existing.Status != status) existing.LastTransitionTime = time;
        existing.Status = status;
        existing.Reason = reason;
        existing.Message = message;
        return changed;
    }

    /// <summary>Removes condition <paramref name="type"/>; returns whether it was there.</summary>
    public static bool Remove(List<Condition> conditions, string type) => conditions.RemoveAll(c => c.Type == type) > 0;

    public static Condition? Find(IEnumerable<Condition>? conditions, string type) => ConditionLookup.Find(conditions, type);

    public static bool IsTrue(IEnumerable<Condition>? conditions, string type) => ConditionLookup.IsTrue(conditions, type);

    // Kubernetes timestamps have second precision (metav1.Time); keep ours equal to what the server stores.
    public static DateTimeOffset TruncateToSeconds(DateTimeOffset t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerSecond, t.Offset);
}
