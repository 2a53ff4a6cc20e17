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
        static DateTime? Time(string? text) =>
            text is not null && DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
                ? t : null;
        return new ClusterEvent(JsonFields.Text(item, "reason"), JsonFields.Text(item, "message"),
            Time(JsonFields.Text(item, "lastTimestamp")) ?? Time(JsonFields.Text(item, "eventTime")), Time(JsonFields.Text(item, "metadata", "creationTimestamp")));
    }
}
