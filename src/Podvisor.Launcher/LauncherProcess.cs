using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Podvisor.Vmm.Consoles;
using Podvisor.Vmm.Machine;

namespace Podvisor.Launcher;

/// <summary>
/// The launcher's life: read the VMI, prepare its volumes, serve the control API, run the VM with its serial
/// console on standard output (the pod's log) and on a Unix socket, and on SIGTERM ask the guest to shut down,
/// wait the VMI's grace period, then stop it. The exit code is the VM's (0 when the guest shut down or left by live
/// migration; a source that handed its VM over leaves the migration's measurements as its termination message). A
/// migration target listens for the source instead of booting, and ends with 1 if the VM never arrived.
/// </summary>
public static class LauncherProcess
{
    public static async Task<int> RunAsync(LauncherOptions options, CancellationToken cancellationToken)
    {
        void Log(string line) => Console.Error.WriteLine($"podvisor-launcher: {line}");
        Vmm.Machine.MachineConfig config;
        Api.VirtualMachineInstance vmi;
        byte[]? token;
        X509Certificate2? controlCertificate;
        try
        {
            vmi = VmiSpecFile.Read(options.SpecFile);
            config = LauncherMachine.Prepare(vmi, options.Layout);
            token = options.ControlTokenFile is null ? null : ReadToken(options.ControlTokenFile);
            controlCertificate = options.ControlTlsDirectory is null ? null : ReadControlCertificate(options.ControlTlsDirectory);
        }
        catch (Exception e) when (e is LauncherException or IOException or UnauthorizedAccessException)
        {
            Log($"error: {e.Message}");
            return 2;
        }
        string name = $"{vmi.Metadata.NamespaceProperty}/{vmi.Metadata.Name}";
        // Said up front: on a node without hardware virtualisation the guest hangs early, with nothing on its console.
        if (Kvm.KvmBackend.Detect(device: options.KvmDevice) is { IsHardwareAssisted: false } backend)
            Log($"warning: {options.KvmDevice} is {backend.Describe()}: stock Linux guests do not boot without hardware-assisted KVM");
        var grace = TimeSpan.FromSeconds(vmi.Spec.TerminationGracePeriodSeconds ?? 30);

        Migration.IncomingMigration? incoming = null;
        if (options.MigrationTarget is { } migrationUid)
        {
            try
            {
                var tls = Migration.MigrationTls.From(Api.Control.TlsMaterial.ReadFolder(options.Layout.MigrationDirectory));
                incoming = Migration.IncomingMigration.Listen(IPAddress.Parse(options.ControlAddress), options.MigrationPort, tls, migrationUid, Log);
            }
            catch (Exception e) when (e is LauncherException or IOException or UnauthorizedAccessException)
            {
                Log($"error: cannot be the target of migration {migrationUid}: {e.Message}");
                return 2;
            }
            Log($"migration target for {migrationUid}: listening on {options.ControlAddress}:{incoming.Port} (mutual TLS)");
        }
        using var incomingMigration = incoming;

        using var stdout = new LineBufferedSink(Console.OpenStandardOutput());
        Directory.CreateDirectory(Path.GetDirectoryName(options.Layout.ConsoleSocket)!);
        LauncherVm? launcherVm = null;
        ConsoleSocketServer consoleSocketServer;
        try
        {
            consoleSocketServer = new ConsoleSocketServer(options.Layout.ConsoleSocket, input => launcherVm?.CurrentSerialInput(input.Span));
        }
        catch (IOException e)
        {
            Log($"error: {e.Message}");
            return 2;
        }
        using var consoleSocket = consoleSocketServer;
        var consoleClients = new ConsoleFanout();
        launcherVm = new LauncherVm(name, config, b =>
        {
            stdout.Write(b);
            consoleSocket.Write(b);
            consoleClients.Write(b);
        }, incoming);
        launcherVm.Started += vm => Log($"VM {name} running: {config.Cpus} vCPU, {config.MemoryMiB} MiB, {config.Disks.Count} disk(s)");


        using var certificate = controlCertificate ?? ControlServer.SelfSignedCertificate(vmi.Metadata.Name ?? "podvisor-launcher");
        ControlServer control;
        try
        {
            control = await ControlServer.StartAsync(launcherVm, new ConsoleAccess(consoleClients, input => launcherVm.CurrentSerialInput(input.Span)),
                IPAddress.Parse(options.ControlAddress), options.ControlPort, token, certificate, Log, cancellationToken);
        }
        catch (IOException e)
        {
            Log($"error: cannot serve the control API on {options.ControlAddress}:{options.ControlPort}: {e.Message}");
            return 2;
        }
        await using var _ = control;
        Log($"control API on https://{options.ControlAddress}:{control.Port}{(token is null ? " (token-less: /readyz and /healthz only)" : "")}; console on {options.Layout.ConsoleSocket}");
        using var metrics = new LauncherMetrics(launcherVm.Usage, vmi.Metadata.NamespaceProperty ?? "", vmi.Metadata.Name ?? "", Environment.GetEnvironmentVariable("NODE_NAME"));
        LauncherMetricsServer? metricsServer = null;
        if (options.MetricsPort > 0)
        {
            try
            {
                metricsServer = await LauncherMetricsServer.StartAsync(IPAddress.Parse(options.ControlAddress), options.MetricsPort, cancellationToken);
            }
            catch (IOException e)
            {
                Log($"error: cannot serve metrics on {options.ControlAddress}:{options.MetricsPort}: {e.Message}");
                return 2;
            }
            Log($"metrics on http://{options.ControlAddress}:{metricsServer.Port}/metrics");
        }
        await using var __ = metricsServer;

        var network = Network.MasqueradePlan.For(vmi);
        Network.PodNetworkSetup? podNetwork = null;
        Network.DhcpResponder? dhcp = null;
        if (network is not null)
        {
            try
            {
                podNetwork = new Network.PodNetworkSetup(network, Log);
                // The migration port is the launcher's on every pod (reserved: a VM keeps the same reachable ports wherever it runs).
                var pod = podNetwork.Apply([control.Port, options.MigrationPort, .. metricsServer is null ? Array.Empty<int>() : [metricsServer.Port]]);
                var dns = Network.ResolvConf.Read(options.Layout.ResolvConf);
                var lease = new Network.DhcpLease(network.GuestMac, network.GuestAddress, network.PrefixLength, network.Gateway, dns.Nameservers, dns.Search,
                    vmi.Spec.Hostname ?? vmi.Metadata.Name, pod.Mtu, TimeSpan.FromDays(1));
                dhcp = Network.DhcpResponder.Start(new Network.DhcpServer(lease), Network.MasqueradePlan.TapName, Log);
            }
            catch (LauncherException e)
            {
                Log($"error: {e.Message}");
                podNetwork?.Remove();
                return 2;
            }
            launcherVm.GuestInterfaces = () => [new GuestInterface(network.InterfaceName, network.GuestMacText, dhcp.AcknowledgedAddress?.ToString())];
        }
        try
        {
            return await RunVmAsync(options, launcherVm, incoming, name, grace, stdout, Log);
        }
        finally
        {
            if (dhcp is not null) await dhcp.DisposeAsync();
            podNetwork?.Remove();
        }
    }

    private static async Task<int> RunVmAsync(LauncherOptions options, LauncherVm launcherVm, Migration.IncomingMigration? incoming, string name, TimeSpan grace,
        LineBufferedSink stdout, Action<string> Log)
    {
        Task? shutdown = null;
        void AskTheGuestToShutDown(PosixSignalContext context)
        {
            context.Cancel = true;
            shutdown ??= launcherVm.ShutdownAsync(grace, Log);
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, AskTheGuestToShutDown);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, AskTheGuestToShutDown);

        VmStopped stopped;
        try
        {
            stopped = await Task.Factory.StartNew(() => incoming is null ? launcherVm.Run(options.KvmDevice)
                : launcherVm.RunIncoming(new Vmm.Migration.MigrationOptions(), options.KvmDevice), TaskCreationOptions.LongRunning);
        }
        catch (LauncherException e) when (incoming is not null)
        {
            if (shutdown is not null) await shutdown;
            Log($"error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is ArgumentException or Vmm.Boot.BootException or Kvm.KvmException or IOException or UnauthorizedAccessException)
        {
            Log($"error: the VM could not start: {e.Message}");
            return 2;
        }
        if (shutdown is not null) await shutdown;
        stdout.Flush();
        Log($"VM {name} stopped: {stopped.Reason} ({stopped.Detail})");
        if (stopped.Reason == StopReason.Migrated && launcherVm.Migration is { Role: Api.Control.LauncherMigrationStatus.Source } migration) WriteTerminationMessage(options.Layout.TerminationLog, migration, Log);
        return stopped.ExitCode;
    }

    /// <summary>The source's last migration, for the operator: the process (and its control API) ends right after a handover.</summary>
    private static void WriteTerminationMessage(string path, Api.Control.LauncherMigrationStatus migration, Action<string> Log)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(migration, Api.Control.ControlApiJson.Default.LauncherMigrationStatus));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log($"warning: cannot write the termination message {path}: {e.Message}");
        }
    }

    /// <summary>The control API's certificate and key from the VMI's control Secret (<see cref="Api.Control.TlsMaterial"/>'s files).</summary>
    private static X509Certificate2 ReadControlCertificate(string folder)
    {
        string certificate = Path.Combine(folder, Api.Control.TlsMaterial.CertificateFile), key = Path.Combine(folder, Api.Control.TlsMaterial.KeyFile);
        try
        {
            return X509Certificate2.CreateFromPemFile(certificate, key);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new LauncherException($"the control API's certificate {certificate} or key {key} cannot be read: {e.Message}");
        }
    }

    private static byte[] ReadToken(string path)
    {
        string token = File.ReadAllText(path).Trim();
        if (token.Length < 16) throw new LauncherException($"the control token in {path} is too short (at least 16 characters)");
        return Encoding.UTF8.GetBytes(token);
    }
}
