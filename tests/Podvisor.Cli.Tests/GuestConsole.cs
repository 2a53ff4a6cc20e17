using System.Diagnostics;
using System.Text;

namespace Podvisor.Cli.Tests;

/// <summary>Reads a running <c>podvisor run</c>'s console (its standard output) until a text appears.</summary>
internal sealed class GuestConsole(Process process, Task<string> stderr, CancellationToken cancellationToken)
{
    private readonly StringBuilder _seen = new();
    private readonly char[] _buffer = new char[4096];

    public string Text => _seen.ToString();

    /// <summary>Reads on until <paramref name="text"/> has appeared (3 minutes at most); fails if the console
    /// ends first, or at the deadline after interrupting podvisor (its report of the VM is in the message).</summary>
    public async Task WaitForAsync(string text)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        while (!_seen.ToString().Contains(text, StringComparison.Ordinal))
        {
            int n;
            try
            {
                n = await process.StandardOutput.ReadAsync(_buffer, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Assert.Fail($"no \"{text}\" on the console within 3 minutes; console:\n{_seen}\npodvisor, interrupted:\n{await Podvisor.InterruptAsync(process, stderr)}");
                throw;
            }
            Assert.True(n > 0, $"console ended before \"{text}\":\n{_seen}\n{(process.HasExited ? await stderr : "")}");
            _seen.Append(_buffer, 0, n);
        }
    }
}
