using System.Diagnostics;

namespace Podvisor.Testing;

/// <summary>A network namespace this test owns (ip netns), deleted with everything in it at the end.</summary>
public sealed class NetworkNamespace : IDisposable
{
    public NetworkNamespace(string prefix = "pvtest")
    {
        Name = $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";
        Ip("netns", "add", Name);
        Ip("-n", Name, "link", "set", "lo", "up");
    }

    public string Name { get; }

    /// <summary>Moves interface <paramref name="device"/> in, gives it <paramref name="cidr"/>, brings it up.</summary>
    public void Adopt(string device, string cidr)
    {
        Ip("link", "set", device, "netns", Name);
        Ip("-n", Name, "addr", "add", cidr, "dev", device);
        Ip("-n", Name, "link", "set", device, "up");
    }

    /// <summary>
    /// Links this namespace to the caller's with a veth pair, as a CNI plugin wires a pod: <paramref name="inside"/>
    /// (e.g. eth0) gets <paramref name="insideCidr"/> and a default route via <paramref name="outsideAddress"/>, which
    /// the outer end <paramref name="outside"/> gets (with the same prefix), with forwarding on so such namespaces reach
    /// each other through the caller's. The pair goes with the namespace.
    /// </summary>
    public void LinkToCaller(string inside, string insideCidr, string outside, string outsideAddress)
    {
        string prefix = insideCidr[insideCidr.IndexOf('/')..];
        string temporary = $"pvv{Guid.NewGuid().ToString("N")[..8]}";
        Ip("link", "add", outside, "type", "veth", "peer", "name", temporary);
        Ip("link", "set", temporary, "netns", Name);
        Ip("-n", Name, "link", "set", temporary, "name", inside);
        Ip("-n", Name, "addr", "add", insideCidr, "dev", inside);
        Ip("-n", Name, "link", "set", inside, "up");
        Ip("-n", Name, "route", "add", "default", "via", outsideAddress);
        Ip("addr", "add", outsideAddress + prefix, "dev", outside);
        Ip("link", "set", outside, "up");
        // Packets from the namespace may be routed on (to another pod's link), as a CNI plugin's node routes pods to
        // each other; set on this link alone, so the machine's own forwarding setting is left as it is.
        File.WriteAllText($"/proc/sys/net/ipv4/conf/{outside}/forwarding", "1");
    }

    /// <summary>Runs <paramref name="command"/> inside the namespace to its end; its standard output.</summary>
    public string Run(params string[] command)
    {
        using var p = Start(command);
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEndAsync();
        string errors = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{string.Join(' ', command)} in {Name}: exit {p.ExitCode}: {errors}");
        return output.Result;
    }

    /// <summary>Starts <paramref name="command"/> inside the namespace, stdout and stdin redirected.</summary>
    public Process Start(params string[] command)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardInput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", Name }.Concat(command)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    public static void Ip(params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string errors = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)}: {errors}");
    }

    /// <summary>Like <see cref="Ip"/>, but false instead of an exception.</summary>
    public static bool TryIp(params string[] args)
    {
        try
        {
            Ip(args);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public void Dispose() => TryIp("netns", "delete", Name);
}
