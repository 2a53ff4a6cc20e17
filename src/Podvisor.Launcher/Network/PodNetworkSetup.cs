using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Podvisor.Launcher.Network;

/// <summary>
/// Applies a <see cref="MasqueradePlan"/> inside the pod's network namespace: a persistent TAP (the VMM attaches
/// to it) with the gateway address, IPv4 forwarding on, and the NAT rules. It runs iproute2's <c>ip</c> and
/// nftables' <c>nft</c>, as KubeVirt's network set-up does (the launcher image carries both); needs
/// CAP_NET_ADMIN, which the operator grants launcher pods that have a pod network. Everything it makes lives
/// in the pod's namespace and goes with it; <see cref="Remove"/> undoes it earlier when the launcher ends.
/// </summary>
public sealed class PodNetworkSetup(MasqueradePlan plan, Action<string> log)
{
    private const string IpForward = "/proc/sys/net/ipv4/ip_forward";
    private bool _tapMade, _rulesMade;

    /// <summary>What the set-up found about the pod: its interface's address and MTU.</summary>
    public sealed record PodInterfaceInfo(IPAddress Address, int Mtu);

    public PodInterfaceInfo Apply(IReadOnlyCollection<int> launcherPorts)
    {
        var pod = FindPodInterface();
        if (!NetworkInterface.GetAllNetworkInterfaces().Any(i => i.Name == MasqueradePlan.TapName))
            Run("ip", "tuntap", "add", "dev", MasqueradePlan.TapName, "mode", "tap");
        _tapMade = true;
        Run("ip", "link", "set", "dev", MasqueradePlan.TapName, "address", MasqueradePlan.GatewayMac, "mtu", pod.Mtu.ToString(CultureInfo.InvariantCulture), "up");
        Run("ip", "addr", "replace", $"{plan.Gateway}/{plan.PrefixLength}", "dev", MasqueradePlan.TapName);
        EnableForwarding();
        Run("nft", ["-f", "-"], stdin: plan.NftRuleset(MasqueradePlan.PodInterface, launcherPorts));   // one transaction: all or nothing
        _rulesMade = true;
        log($"pod network: guest {plan.GuestAddress}/{plan.PrefixLength} ({plan.GuestMacText}) on {MasqueradePlan.TapName}, " +
            $"gateway {plan.Gateway}, masquerading as {pod.Address} on {MasqueradePlan.PodInterface} (MTU {pod.Mtu})");
        return pod;
    }

    /// <summary>Takes away the TAP and the rules it made (best effort: the namespace going away takes them anyway).</summary>
    public void Remove()
    {
        var undo = new List<(string File, string[] Args)>();
        if (_rulesMade) undo.Add(("nft", ["delete", "table", "ip", MasqueradePlan.NftTable]));
        if (_tapMade) undo.Add(("ip", ["link", "delete", MasqueradePlan.TapName]));
        _rulesMade = _tapMade = false;
        foreach (var (file, args) in undo)
        {
            try
            {
                Run(file, args);
            }
            catch (LauncherException e)
            {
                log($"warning: {e.Message}");
            }
        }
    }

    private static PodInterfaceInfo FindPodInterface()
    {
        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(i => i.Name == MasqueradePlan.PodInterface)
            ?? throw new LauncherException($"the pod has no {MasqueradePlan.PodInterface} interface to masquerade behind (interfaces: " +
                $"{string.Join(", ", NetworkInterface.GetAllNetworkInterfaces().Select(i => i.Name))})");
        var address = nic.GetIPProperties().UnicastAddresses.Select(a => a.Address).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? throw new LauncherException($"the pod's {MasqueradePlan.PodInterface} has no IPv4 address (the masquerade binding needs one)");
        int mtu = nic.GetIPProperties().GetIPv4Properties()?.Mtu ?? 1500;
        return new PodInterfaceInfo(address, mtu > 0 ? mtu : 1500);
    }

    private static void EnableForwarding()
    {
        try
        {
            if (File.ReadAllText(IpForward).Trim() != "1") File.WriteAllText(IpForward, "1");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LauncherException($"cannot turn on IPv4 forwarding in the pod ({IpForward}: {e.Message}); the masquerade binding routes the guest's traffic " +
                "and needs it (allow the net.ipv4.ip_forward sysctl for launcher pods)");
        }
    }

    private static void Run(string file, params string[] args) => Run(file, args, stdin: null);

    private static void Run(string file, string[] args, string? stdin)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = stdin is not null };
        foreach (string a in args) psi.ArgumentList.Add(a);
        string command = $"{file} {string.Join(' ', args)}";
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new LauncherException($"{command}: {e.Message} (the launcher needs iproute2's ip and nftables' nft for the pod network)");
        }
        using (process)
        {
            if (stdin is not null)
            {
                process.StandardInput.Write(stdin);
                process.StandardInput.Close();
            }
            var errors = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new LauncherException($"{command} failed (exit {process.ExitCode}): {errors.Result.Trim()}");
        }
    }
}
