using Podvisor.Operator.Launcher;

namespace Podvisor.Operator;

/// <summary>How the operator finds the cluster and names itself (command line or environment).</summary>
public sealed record OperatorOptions
{
    /// <summary>A kubeconfig file; none: the in-cluster service account (as a Deployment runs it).</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>Where the leader-election Lease lives (the operator's own namespace).</summary>
    public string LeaseNamespace { get; init; } = "podvisor-system";

    public string LeaseName { get; init; } = "podvisor-operator";

    /// <summary>This replica's name in the Lease (the pod's name in a cluster).</summary>
    public string Identity { get; init; } = $"{Environment.MachineName}-{Guid.NewGuid():N}"[..24];

    public int Workers { get; init; } = 4;

    public LauncherPodOptions Launcher { get; init; } = new();

    public Controllers.MigrationLimits Migrations { get; init; } = new();

    /// <summary>The port of the Prometheus scrape endpoint (http://*:PORT/metrics); 0: none.</summary>
    public int MetricsPort { get; init; }

    /// <summary>
    /// --kubeconfig PATH --lease-namespace NS --identity NAME (else KUBECONFIG, POD_NAMESPACE, POD_NAME);
    /// --launcher-image IMAGE --launcher-service-account NAME --device-access extended-resources|privileged;
    /// --parallel-migrations N --parallel-outbound-migrations-per-node N (KubeVirt's names); --metrics-port N;
    /// --launcher-metrics-port N (each launcher's Prometheus endpoint; 0: none).
    /// </summary>
    /// <exception cref="ArgumentException">A value is not one the option takes.</exception>
    public static OperatorOptions Parse(string[] args)
    {
        string[] known = ["--kubeconfig", "--lease-namespace", "--identity", "--launcher-image", "--launcher-service-account", "--device-access",
            "--parallel-migrations", "--parallel-outbound-migrations-per-node", "--metrics-port", "--launcher-metrics-port"];
        for (int i = 0; i < args.Length; i += 2)
        {
            if (!known.Contains(args[i]))
                throw new ArgumentException($"unknown argument \"{args[i]}\" (the options are {string.Join(", ", known)}, each with a value)");
            if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                throw new ArgumentException($"{args[i]} needs a value");
        }
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var defaults = new OperatorOptions();
        var access = Arg("--device-access") switch
        {
            null or "extended-resources" => DeviceAccess.ExtendedResources,
            "privileged" => DeviceAccess.Privileged,
            var other => throw new ArgumentException($"--device-access: \"{other}\" is not extended-resources or privileged"),
        };
        int Count(string name, int fallback) => Arg(name) is not { } text ? fallback
            : int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out int n) && n > 0 ? n
            : throw new ArgumentException($"{name}: \"{text}\" is not a positive whole number");
        int Port(string name, int fallback) => Arg(name) is not { } port ? fallback
            : int.TryParse(port, System.Globalization.CultureInfo.InvariantCulture, out int p) && p is >= 0 and <= 65535 ? p
            : throw new ArgumentException($"{name}: \"{port}\" is not a port number (0 for none)");
        int metricsPort = Port("--metrics-port", 0), launcherMetricsPort = Port("--launcher-metrics-port", defaults.Launcher.MetricsPort);
        // The launcher's other ports: a clash would stop every launcher at start.
        if (launcherMetricsPort == defaults.Launcher.ControlPort || launcherMetricsPort == Api.LauncherLabels.MigrationPort)
            throw new ArgumentException($"--launcher-metrics-port: {launcherMetricsPort} is the launcher's control or migration port");
        return new OperatorOptions
        {
            MetricsPort = metricsPort,
            Migrations = new Controllers.MigrationLimits(Count("--parallel-migrations", defaults.Migrations.PerCluster),
                Count("--parallel-outbound-migrations-per-node", defaults.Migrations.OutboundPerNode)),
            Kubeconfig = Arg("--kubeconfig") ?? (Environment.GetEnvironmentVariable("KUBECONFIG") is { Length: > 0 } fromEnvironment ? fromEnvironment : null),
            LeaseNamespace = Arg("--lease-namespace") ?? Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? defaults.LeaseNamespace,
            Identity = Arg("--identity") ?? Environment.GetEnvironmentVariable("POD_NAME") ?? defaults.Identity,
            Launcher = defaults.Launcher with
            {
                Image = Arg("--launcher-image") ?? defaults.Launcher.Image,
                ServiceAccountName = Arg("--launcher-service-account"),
                DeviceAccess = access,
                MetricsPort = launcherMetricsPort,
                OtlpEndpoint = Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 } otlp ? otlp : null,
            },
        };
    }
}
