namespace Podvisor.Operator.Launcher;

/// <summary>What every launcher pod shares: the image, how it reaches devices, its service account.</summary>
public sealed record LauncherPodOptions
{
    public const string KvmResource = "devices.podvisor.io/kvm", TunResource = "devices.podvisor.io/tun";

    /// <summary>The launcher image (the Helm chart sets it to the release's image).</summary>
    public string Image { get; init; } = "ghcr.io/podvisor/launcher:latest";

    public string ImagePullPolicy { get; init; } = "IfNotPresent";

    /// <summary>The launcher binary inside the image.</summary>
    public string Command { get; init; } = "/usr/bin/podvisor-launcher";

    public DeviceAccess DeviceAccess { get; init; } = DeviceAccess.ExtendedResources;

    /// <summary>Launchers' own service account (no API rights: the operator talks to them); null: the namespace default.</summary>
    public string? ServiceAccountName { get; init; }

    /// <summary>Port of the launcher's control API (status, pause, console, migrate).</summary>
    public int ControlPort { get; init; } = 8443;

    /// <summary>Port of the launcher's Prometheus endpoint (plain HTTP /metrics: the VM's memory, exits, boot time); 0: none.</summary>
    public int MetricsPort { get; init; } = 8445;

    /// <summary>An OpenTelemetry collector for the launchers' traces (the operator's own OTEL_EXPORTER_OTLP_ENDPOINT); null: none.</summary>
    public string? OtlpEndpoint { get; init; }
}
