using System.Net.Sockets;
using System.Text;

namespace Podvisor.Cli.Tests;

/// <summary>The README's main job: <c>podvisor run examples/vm.yaml</c> boots the guest and ends with it (full KVM).</summary>
[Trait("Category", "FullKvm")]
public sealed class ManifestBootTests
{
    [Fact]
    public void TheExampleManifestBootsToInitAndPowersOff()
    {
        var result = Podvisor.Run(["run", "examples/vm.yaml", "--no-emulated-host"], timeout: TimeSpan.FromMinutes(3));
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\nstderr:\n{result.Stderr}\nstdout:\n{result.Stdout}");
        Assert.Contains("GUEST-INIT-OK", result.Stdout);
        Assert.Contains("kernel=6.1.176 cpus=1", result.Stdout);
        Assert.Contains("podvisor: microvm: 1 vCPU, 256 MiB guest memory", result.Stderr);
        Assert.Contains("VM stopped: GuestPowerOff", result.Stderr);
    }

    private static string SharedGuest(string name) =>
        Path.GetFullPath(Path.Combine(Podvisor.RepositoryRoot, "..", "shared", "guest", name));

    [Fact]
    public void ConsoleToAFile()
    {
        string dir = Directory.CreateTempSubdirectory("podvisor-console-file-").FullName;
        try
        {
            string log = Path.Combine(dir, "console.log");
            var result = Podvisor.Run(["run", "examples/vm.yaml", "--no-emulated-host", "--console", $"file:{log}"], timeout: TimeSpan.FromMinutes(3));
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Contains("GUEST-INIT-OK", File.ReadAllText(log));
            Assert.DoesNotContain("GUEST-INIT-OK", result.Stdout);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ConsoleOnASocketCarriesOutputAndInput()
    {
        string dir = Directory.CreateTempSubdirectory("podvisor-console-sock-").FullName;
        string socketPath = Path.Combine(dir, "console.sock");
        using var process = Podvisor.Start(trace: true, args: ["run", "--no-emulated-host", "--kernel", SharedGuest("bzImage"), "--initrd", SharedGuest("initrd-shell.gz"),
            "--cmdline", "console=ttyS0 reboot=k panic=-1 pci=off quiet", "--console", $"socket:{socketPath}"]);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        try
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            while (true)
            {
                try
                {
                    socket.Connect(new UnixDomainSocketEndPoint(socketPath));
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
                {
                    Thread.Sleep(20);
                }
            }
            var seen = new StringBuilder();
            async Task WaitFor(string text)
            {
                var buffer = new byte[4096];
                var until = DateTime.UtcNow.AddMinutes(2);
                while (!seen.ToString().Contains(text, StringComparison.Ordinal))
                {
                    if (!socket.Poll(TimeSpan.FromTicks(Math.Max(0, (until - DateTime.UtcNow).Ticks)), SelectMode.SelectRead))
                    {
                        // Is the guest alive and the input lost, or is the guest stuck? Probe: another Enter.
                        socket.Send("\n"u8);
                        string probe = socket.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead) ? $"answered: {Encoding.ASCII.GetString(buffer, 0, socket.Receive(buffer))}" : "no answer in 5 s";
                        Assert.Fail($"no \"{text}\" on the console socket within 2 minutes; so far:\n{seen}\na further Enter: {probe}\npodvisor, interrupted:\n{await Podvisor.InterruptAsync(process, stderr)}");
                    }
                    int n = socket.Receive(buffer);
                    Assert.True(n > 0, $"console closed before \"{text}\"; so far:\n{seen}");
                    seen.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }
            }
            await WaitFor("GUEST-SHELL");
            await WaitFor("\u001b[6n");                                      // busybox asks where the cursor is…
            socket.Send("\u001b[1;1R"u8);                              // …and a terminal answers
            socket.Send("echo sock-$((6*7))\n"u8);
            await WaitFor("sock-42");
            socket.Send("exit\n"u8);
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), seen.ToString());
            string errors = await stderr;
            Assert.True(process.ExitCode == 0, errors);
            Assert.Contains("VM stopped: GuestPowerOff", errors);
            Assert.False(File.Exists(socketPath));                     // removed when the VMM ends
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            Directory.Delete(dir, recursive: true);
        }
    }
}
