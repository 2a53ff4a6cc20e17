using System.CommandLine;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Podvisor.Launcher;

// Traces (each side of a live migration) and the VM's metrics go to an OpenTelemetry collector when the pod names one.
bool otlp = Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 };
void Describe(ResourceBuilder resource) => resource.AddService("podvisor-launcher", serviceInstanceId: Environment.GetEnvironmentVariable("POD_NAME"));
using var tracing = otlp ? OpenTelemetry.Sdk.CreateTracerProviderBuilder().AddSource(LauncherTelemetry.Name).ConfigureResource(Describe).AddOtlpExporter().Build() : null;
using var metering = otlp ? OpenTelemetry.Sdk.CreateMeterProviderBuilder().AddMeter(LauncherTelemetry.Name).ConfigureResource(Describe).AddOtlpExporter().Build() : null;
var root = new RootCommand("podvisor-launcher: runs one VirtualMachineInstance's VM in its launcher pod (docs/launcher-pod.md).");
var spec = new Option<string>("--spec") { Description = "the VMI as JSON (the pod's downward-API file)", Required = true };
var controlPort = new Option<int>("--control-port") { Description = "HTTPS port of the control API (0: any free port, printed)", DefaultValueFactory = _ => 8443 };
var controlAddress = new Option<string>("--control-address") { Description = "address the control API listens on", DefaultValueFactory = _ => "0.0.0.0" };
var tokenFile = new Option<string?>("--control-token-file") { Description = "file holding the bearer token the control API demands (without it only /readyz and /healthz answer)" };
var tlsDir = new Option<string?>("--control-tls-directory") { Description = "folder holding tls.crt and tls.key, the certificate the control API serves (the VMI's control Secret); without it a self-signed one" };
var rootDir = new Option<string>("--root") { Description = "folder the pod's paths are under (a node agent running launchers as plain processes gives its own)", DefaultValueFactory = _ => "/" };
var kvmDevice = new Option<string>("--kvm-device") { Description = "KVM device node", DefaultValueFactory = _ => "/dev/kvm" };
var migrationTarget = new Option<string?>("--migration-target") { Description = "receive the VM from a live migration (this migration's uid) instead of booting it; TLS credentials from the pod's migration folder" };
var metricsPort = new Option<int>("--metrics-port") { Description = "plain-HTTP port of the VM's Prometheus metrics (/metrics; 0: none)", DefaultValueFactory = _ => 0 };
var migrationPort = new Option<int>("--migration-port") { Description = "TCP port a migration target listens on (0: any free port, printed)", DefaultValueFactory = _ => Podvisor.Api.LauncherLabels.MigrationPort };
root.Options.Add(spec);
root.Options.Add(migrationTarget);
root.Options.Add(migrationPort);
root.Options.Add(controlPort);
root.Options.Add(metricsPort);
root.Options.Add(controlAddress);
root.Options.Add(tokenFile);
root.Options.Add(tlsDir);
root.Options.Add(rootDir);
root.Options.Add(kvmDevice);
root.SetAction((parse, ct) => LauncherProcess.RunAsync(new LauncherOptions(
    parse.GetValue(spec)!, parse.GetValue(controlAddress)!, parse.GetValue(controlPort), parse.GetValue(tokenFile),
    new LauncherLayout(parse.GetValue(rootDir)!), parse.GetValue(kvmDevice)!, parse.GetValue(migrationTarget), parse.GetValue(migrationPort), parse.GetValue(tlsDir),
    parse.GetValue(metricsPort)), ct));
var helpersTarget = new Argument<string>("folder") { Description = "where to put the helpers (an emptyDir other init containers mount)" };
var installHelpers = new Command("install-helpers", "Install the static helpers (podvisor-copy) for init containers of images that hold only files.") { helpersTarget };
installHelpers.SetAction(parse => Helpers.Install(parse.GetValue(helpersTarget)!, line => Console.Error.WriteLine($"podvisor-launcher: {line}")));
root.Subcommands.Add(installHelpers);
return await root.Parse(args).InvokeAsync();
