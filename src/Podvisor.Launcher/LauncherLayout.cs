using Podvisor.Api;

namespace Podvisor.Launcher;

/// <summary>
/// The launcher's files (<see cref="LauncherPaths"/>), under a root: "/" in a pod, a scratch folder in tests
/// and on a node agent that runs launchers as plain processes.
/// </summary>
public sealed record LauncherLayout(string Root)
{
    public static LauncherLayout Pod { get; } = new("/");

    public string VolumeDirectory(string volume) => Under(LauncherPaths.Volumes, volume);

    public string BlockDevice(string volume) => Under(LauncherPaths.BlockDevices, volume);

    public string KernelFile => Under(LauncherPaths.Kernel, "kernel");

    public string InitrdFile => Under(LauncherPaths.Kernel, "initrd");

    public string ConsoleSocket => Under(LauncherPaths.Runtime, "console.sock");

    public string VsockSocket => Under(LauncherPaths.Runtime, "vsock.sock");

    /// <summary>A migration target's TLS credentials (the migration's Secret, mounted).</summary>
    public string MigrationDirectory => Path.Combine(Root, LauncherPaths.MigrationDirectory.TrimStart('/'));

    /// <summary>The compute container's termination message file.</summary>
    public string TerminationLog => Path.Combine(Root, LauncherPaths.TerminationLog.TrimStart('/'));

    /// <summary>The pod's DNS settings (the kubelet writes them), passed on to the guest by DHCP.</summary>
    public string ResolvConf => Under("/etc", "resolv.conf");

    private string Under(string absolute, string name) => Path.Combine(Root, absolute.TrimStart('/'), name);
}
