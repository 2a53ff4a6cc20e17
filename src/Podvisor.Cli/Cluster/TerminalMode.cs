using System.Diagnostics;

namespace Podvisor.Cli.Cluster;

/// <summary>The terminal in raw mode (every key goes to the guest as typed, no local echo) while attached, restored
/// after; nothing when input or output is not a terminal. stty does it, as for any interactive console client.</summary>
internal sealed class TerminalMode : IDisposable
{
    private readonly string? _saved;

    private TerminalMode(string? saved) => _saved = saved;

    public static TerminalMode RawIfInteractive()
    {
        if (Console.IsInputRedirected || Console.IsOutputRedirected) return new TerminalMode(null);
        string? saved = Stty("-g")?.Trim();
        return saved is { Length: > 0 } && Stty("raw", "-echo") is not null ? new TerminalMode(saved) : new TerminalMode(null);
    }

    public void Dispose()
    {
        if (_saved is not null) Stty(_saved);
    }

    /// <summary>Runs stty on this terminal (its stdin is ours); its output, or null if it failed.</summary>
    private static string? Stty(params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo("stty") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in args) psi.ArgumentList.Add(a);
            using var stty = Process.Start(psi)!;
            string output = stty.StandardOutput.ReadToEnd();
            stty.WaitForExit();
            return stty.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
