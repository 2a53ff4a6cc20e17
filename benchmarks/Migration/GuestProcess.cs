using System.Diagnostics;
using System.Text;

namespace Podvisor.Benchmarks.Migration;

/// <summary>A VMM process with its output gathered (standard output and error), and waits on what it printed.</summary>
internal sealed class GuestProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new(), _stderr = new();
    private readonly Func<string>? _console;

    /// <param name="console">Where the guest's console goes when not to standard output (QEMU's serial file).</param>
    public GuestProcess(IReadOnlyList<string> command, Func<string>? console = null)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in command.Skip(1)) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _console = console;
    }

    public string Console => _console?.Invoke() ?? Stdout;

    public string Stdout
    {
        get { lock (_stdout) return _stdout.ToString(); }
    }

    public string Stderr
    {
        get { lock (_stderr) return _stderr.ToString(); }
    }

    public bool Exited => _process.HasExited;

    /// <summary>Waits until <paramref name="condition"/> holds of what the process printed; throws with its output after <paramref name="patience"/>.</summary>
    public T WaitFor<T>(Func<GuestProcess, T?> condition, string what, TimeSpan patience) where T : class
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            if (condition(this) is { } found) return found;
            bool exited = Exited;
            if (exited) Thread.Sleep(200);                               // its last output on its way
            if (exited && condition(this) is { } last) return last;
            if (exited || DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"{what}: {(exited ? $"the process exited ({_process.ExitCode})" : $"not within {patience.TotalSeconds:0} s")}" +
                    $"\nconsole:\n{Tail(Console)}\nerrors:\n{Tail(Stderr)}");
            Thread.Sleep(50);
        }
    }

    private static string Tail(string text) => text.Length > 3000 ? text[^3000..] : text;

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
    }
}
