using k8s;
using k8s.Models;

namespace Podvisor.Operator.Runtime;

/// <summary>
/// Kubernetes Events about the objects the operator manages (what <c>kubectl describe</c> shows). The same
/// event repeated within <see cref="DeduplicationWindow"/> bumps its count instead of adding another, as
/// client-go's event correlator does. Recording never fails the caller: API errors go to the log.
/// </summary>
public sealed class EventRecorder(IKubernetes client, string component, Action<string>? log = null, TimeProvider? time = null)
{
    public const string Normal = "Normal", Warning = "Warning";
    public static readonly TimeSpan DeduplicationWindow = TimeSpan.FromMinutes(10);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Uid, string Type, string Reason, string Message), (string Name, int Count, DateTimeOffset Last)> _recent = [];

    public async Task RecordAsync(IKubernetesObject<V1ObjectMeta> involved, string type, string reason, string message,
        CancellationToken cancellationToken = default)
    {
        string ns = involved.Metadata.NamespaceProperty ?? "default";
        var now = _time.GetUtcNow();
        var key = (involved.Metadata.Uid ?? involved.Metadata.Name, type, reason, message);
        (string Name, int Count, DateTimeOffset Last) seen;
        bool repeat;
        lock (_lock)
        {
            repeat = _recent.TryGetValue(key, out seen) && now - seen.Last < DeduplicationWindow;
            if (repeat) _recent[key] = (seen.Name, seen.Count + 1, now);
        }
        try
        {
            if (repeat)
            {
                var patch = new V1Patch($$"""{"count":{{seen.Count + 1}},"lastTimestamp":"{{now.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}}"}""", V1Patch.PatchType.MergePatch);
                await client.CoreV1.PatchNamespacedEventAsync(patch, seen.Name, ns, cancellationToken: cancellationToken);
                return;
            }
            string name = $"{involved.Metadata.Name}.{now.ToUnixTimeMilliseconds():x}{Random.Shared.Next(0x1000):x3}";
            await client.CoreV1.CreateNamespacedEventAsync(new Corev1Event
            {
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
                InvolvedObject = new V1ObjectReference
                {
                    ApiVersion = involved.ApiVersion, Kind = involved.Kind, Name = involved.Metadata.Name, NamespaceProperty = ns,
                    Uid = involved.Metadata.Uid, ResourceVersion = involved.Metadata.ResourceVersion,
                },
                Type = type, Reason = reason, Message = message, Count = 1,
                FirstTimestamp = now.UtcDateTime, LastTimestamp = now.UtcDateTime,
                Source = new V1EventSource { Component = component },
                ReportingComponent = component,
            }, ns, cancellationToken: cancellationToken);
            lock (_lock) _recent[key] = (name, 1, now);
        }
        catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException or IOException)
        {
            log?.Invoke($"event {reason} for {ns}/{involved.Metadata.Name} not recorded: {e.Message}");
        }
    }
}
