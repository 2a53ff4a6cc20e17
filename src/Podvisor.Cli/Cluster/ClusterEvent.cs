using System.Globalization;
using System.Text.Json;

namespace Podvisor.Cli.Cluster;

/// <summary>What the CLI reads of a Kubernetes Event: why, what it says, and when it last happened (lastTimestamp, else
/// the newer eventTime; <see cref="Created"/> when it carries neither).</summary>
internal sealed record ClusterEvent(string? Reason, string? Message, DateTime? When, DateTime? Created)
{
    public DateTime? Order => When ?? Created;

    public static ClusterEvent From(JsonElement item)
    {
        static string? Text(JsonElement e, string name) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        static DateTime? Time(string? text) =>
            text is not null && DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
                ? t : null;
        var metadata = item.TryGetProperty("metadata", out var m) ? m : default;
        return new ClusterEvent(Text(item, "reason"), Text(item, "message"), Time(Text(item, "lastTimestamp")) ?? Time(Text(item, "eventTime")),
            Time(Text(metadata, "creationTimestamp")));
    }
}
