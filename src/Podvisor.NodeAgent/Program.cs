using System.CommandLine;
using System.Runtime.InteropServices;
using Podvisor.NodeAgent;

// podvisor-node-agent: Podvisor's DaemonSet on every node. Serves devices.podvisor.io/kvm and devices.podvisor.io/tun
// to the kubelet through the device plugin API, so launcher pods get /dev/kvm and /dev/net/tun without privileges.
var pluginDirectory = new Option<string>("--device-plugin-dir") { Description = "the kubelet's device-plugins directory", DefaultValueFactory = _ => NodeAgentOptions.DefaultPluginDirectory };
var kvm = new Option<string>("--kvm-device") { Description = "the KVM device node on the host", DefaultValueFactory = _ => "/dev/kvm" };
var tun = new Option<string>("--tun-device") { Description = "the TUN device node on the host", DefaultValueFactory = _ => "/dev/net/tun" };
var deviceRoot = new Option<string>("--device-root") { Description = "where this process sees the host's root for the device nodes (the DaemonSet mounts /dev at /host/dev: /host)", DefaultValueFactory = _ => "/" };
var units = new Option<int>("--units") { Description = "pods that may hold each device at once", DefaultValueFactory = _ => NodeAgentOptions.DefaultUnits };
var interval = new Option<double>("--interval-seconds") { Description = "how often device health and the kubelet's socket are looked at", DefaultValueFactory = _ => 2 };
units.Validators.Add(result => { if (result.GetValueOrDefault<int>() is < 1 or > 10000) result.AddError("--units must be between 1 and 10000"); });
interval.Validators.Add(result => { if (result.GetValueOrDefault<double>() is <= 0 or > 300) result.AddError("--interval-seconds must be above 0 and at most 300"); });

var root = new RootCommand("Podvisor's node agent: /dev/kvm and /dev/net/tun for launcher pods, through the kubelet's device plugin API.")
{
    pluginDirectory, kvm, tun, deviceRoot, units, interval,
};
root.SetAction(async (parse, cancellationToken) =>
{
    string directory = parse.GetValue(pluginDirectory)!;
    if (!Directory.Exists(directory))
    {
        Console.Error.WriteLine($"podvisor-node-agent: {directory} does not exist: mount the kubelet's device-plugins directory there (hostPath), or give --device-plugin-dir");
        return 2;
    }
    var options = new NodeAgentOptions(directory, NodeAgentOptions.PodvisorDevices(parse.GetValue(kvm)!, parse.GetValue(tun)!, parse.GetValue(units)),
        parse.GetValue(deviceRoot)!, TimeSpan.FromSeconds(parse.GetValue(interval)));
    using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
    using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.Cancel(); });
    void Log(string line) => Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
    Log($"serving {string.Join(", ", options.Devices.Select(d => $"{d.ResourceName} ({options.VisiblePath(d)})"))} in {directory}");
    await new DevicePluginAgent(options, Log).RunAsync(stop.Token);
    return 0;
});
return await root.Parse(args).InvokeAsync();
