using System.Diagnostics;
using System.Text;
using Podvisor.Testing;

namespace Podvisor.NodeAgent.Tests;

/// <summary>podvisor-node-agent as its own process — the native build scripts/publish made (PODVISOR_NODE_AGENT_NATIVE,
/// as the image carries it) when there is one — with its log collected.</summary>
internal sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    public AgentProcess(IEnumerable<string> args)
    {
        string? native = NativeBuild.Named("PODVISOR_NODE_AGENT_NATIVE");
        var psi = new ProcessStartInfo(native ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (native is null) psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "podvisor-node-agent.dll"));
        foreach (string a in args) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>SIGTERM, as the kubelet stops a pod; the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) await kill.WaitForExitAsync();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return _process.ExitCode;
    }

    public async Task WaitForExitAsync() => await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

    public async Task WaitForLogAsync(string text, int seconds = 20)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(seconds); !Log.Contains(text, StringComparison.Ordinal); await Task.Delay(50))
            if (DateTime.UtcNow > deadline || HasExited) Assert.Fail($"no \"{text}\" from the agent within {seconds} s:\n{Log}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
