using System.Diagnostics;

namespace Podvisor.Vmm.Tests;

/// <summary>A network namespace this test owns (ip netns), deleted with everything in it at the end.</summary>
internal sealed class NetworkNamespace : IDisposable
{
    public NetworkNamespace()
    {
        Name = $"pvtest-{Guid.NewGuid().ToString("N")[..8]}";
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

    public void Dispose() => Ip("netns", "delete", Name);
}
