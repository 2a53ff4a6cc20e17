namespace Podvisor.NodeAgent;

/// <summary>
/// Keeps each device plugin served and registered for as long as it runs, as the kubelet expects of a plugin: its
/// server on its socket, registered with the kubelet; again when the socket disappears (a restarting kubelet empties
/// its device-plugins directory) or the kubelet's own socket is a new one (the kubelet restarted and forgot it); a
/// refused or unanswered registration is tried again.
/// </summary>
public sealed class DevicePluginAgent(NodeAgentOptions options, Action<string> log)
{
    private sealed class Plugin(ServedDevice device, DeviceHealth health)
    {
        public ServedDevice Device { get; } = device;
        public DeviceHealth Health { get; } = health;
        public UnixGrpcServer? Server;
        public string? RegisteredWith;
        public string? LastProblem;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var plugins = options.Devices.Select(d => new Plugin(d, new DeviceHealth(options.VisiblePath(d), options.Interval))).ToList();
        var watching = plugins.Select(p => p.Health.RunAsync(cancellationToken)).ToList();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                string? kubelet = KubeletIdentity();
                foreach (var plugin in plugins) await EnsureAsync(plugin, kubelet, cancellationToken).ConfigureAwait(false);
                await Task.Delay(options.Interval, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
        finally
        {
            foreach (var plugin in plugins)
                if (plugin.Server is { } server) await server.DisposeAsync().ConfigureAwait(false);
            await Task.WhenAll(watching.Select(w => w.ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);
            log("stopped: plugin sockets removed");
        }
    }

    private async Task EnsureAsync(Plugin plugin, string? kubelet, CancellationToken cancellationToken)
    {
        string socket = Path.Combine(options.PluginDirectory, plugin.Device.Endpoint);
        if (plugin.Server is null || !File.Exists(socket))
        {
            if (plugin.Server is { } old)
            {
                log($"{plugin.Device.ResourceName}: {socket} is gone (the kubelet restarted?): serving it again");
                await old.DisposeAsync().ConfigureAwait(false);
            }
            plugin.Server = await UnixGrpcServer.StartAsync(socket, new DevicePluginService(plugin.Device, plugin.Health, log), cancellationToken).ConfigureAwait(false);
            plugin.RegisteredWith = null;
        }
        if (kubelet is not null && plugin.RegisteredWith == kubelet) return;
        string? problem = await KubeletRegistration.RegisterAsync(options.PluginDirectory, plugin.Device, cancellationToken).ConfigureAwait(false);
        if (problem is null)
        {
            plugin.RegisteredWith = kubelet;
            plugin.LastProblem = null;
            log($"{plugin.Device.ResourceName}: registered with the kubelet ({plugin.Device.Count} unit(s) of {plugin.Device.HostPath}, socket {plugin.Device.Endpoint})");
        }
        else if (problem != plugin.LastProblem)
        {
            plugin.LastProblem = problem;
            log($"{plugin.Device.ResourceName}: not registered: {problem}; trying again every {options.Interval.TotalSeconds:0.#} s");
        }
    }

    /// <summary>Which kubelet socket is there (a new one after a kubelet restart), or null when there is none.</summary>
    private string? KubeletIdentity()
    {
        var socket = new FileInfo(Path.Combine(options.PluginDirectory, KubeletRegistration.KubeletSocket));
        return socket.Exists ? $"{socket.CreationTimeUtc.Ticks}/{socket.LastWriteTimeUtc.Ticks}" : null;
    }
}
