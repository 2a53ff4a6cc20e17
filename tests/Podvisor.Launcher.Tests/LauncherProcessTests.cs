using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Podvisor.EmulatedHost;
using Podvisor.Testing;

namespace Podvisor.Launcher.Tests;

/// <summary>
/// The launcher as the pod runs it, a process: reads its VMI, prepares the volumes, boots the guest, answers
/// the control API, and on SIGTERM asks the guest to shut down (full KVM: the emulated host here).
/// </summary>
[Trait("Category", "FullKvm")]
public sealed class LauncherProcessTests : IDisposable
{
    private const string Token = "launcher-test-token-0123456789";
    private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(3);
    private static string SharedGuest(string file) => Path.GetFullPath(Path.Combine(Repository.Root, "..", "shared", "guest", file));

    private readonly TestVmi _pod = new();
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    public void Dispose() => _pod.Dispose();

    /// <summary>Puts the microVM kernel and an initrd running <paramref name="script"/> where the pod would, writes the spec and token.</summary>
    private (string Spec, string TokenFile) PreparePod(string script, long graceSeconds)
    {
        File.Copy(SharedGuest("bzImage"), _pod.Layout.KernelFile, overwrite: true);
        File.Delete(_pod.Layout.InitrdFile);
        CpioArchive.Extend(SharedGuest("initrd.gz"), _pod.Layout.InitrdFile, [("etc/guest-run", Encoding.UTF8.GetBytes(script), 0x1ED)]);
        _pod.VolumeFolder("scratch");
        string spec = Path.Combine(_pod.Root, "spec.json");
        File.WriteAllText(spec, TestVmi.Json("""{ "disks": [ { "name": "scratch", "serial": "scratch" } ] }""",
            """[ { "name": "scratch", "emptyDisk": { "capacity": "16Mi" } } ]""", $$""", "terminationGracePeriodSeconds": {{graceSeconds}}""")
            .Replace("\"kernelArgs\": \"console=ttyS0\"", "\"kernelArgs\": \"console=ttyS0 reboot=k panic=-1 pci=off quiet\""));
        string token = Path.Combine(_pod.Root, "token");
        File.WriteAllText(token, Token + "\n");
        return (spec, token);
    }

    private sealed class Launcher : IDisposable
    {
        private readonly StringBuilder _stdout = new(), _stderr = new();
        public readonly Process Process;

        public Launcher(string spec, string tokenFile, LauncherLayout layout)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { LauncherBinary.Dll, "--spec", spec, "--root", layout.Root,
                         "--control-address", "127.0.0.1", "--control-port", "0", "--control-token-file", tokenFile })
                psi.ArgumentList.Add(a);
            Process = Process.Start(psi)!;
            Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
            Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
        public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

        public void WaitFor(Func<Launcher, bool> condition, string what)
        {
            var deadline = DateTime.UtcNow + BootTimeout;
            while (!condition(this))
            {
                Assert.True(DateTime.UtcNow < deadline && !Process.HasExited, $"{what}: not within {BootTimeout}; console:\n{Stdout}\nlauncher:\n{Stderr}");
                Thread.Sleep(50);
            }
        }

        public int Port => int.Parse(System.Text.RegularExpressions.Regex.Match(Stderr, @"control API on https://127\.0\.0\.1:(\d+)").Groups[1].Value);

        public void Signal(string signal)
        {
            using var kill = Process.Start("kill", [$"-{signal}", Process.Id.ToString()]);
            kill.WaitForExit();
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }

    private static HttpClient Client(int port) => new(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true })
    {
        BaseAddress = new Uri($"https://127.0.0.1:{port}"),
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", Token) },
    };

    private async Task<string> State(HttpClient client)
    {
        using var json = JsonDocument.Parse(await client.GetStringAsync("/v1/status", _ct));
        return json.RootElement.GetProperty("state").GetString()!;
    }

    [Fact]
    public async Task BootsTheVmiServesControlAndOnSigtermTheGuestShutsDown()
    {
        // The guest's stand-in for acpid: Linux counts fixed ACPI events in sysfs; power off on the first press.
        const string Script = """
            echo scratch-disk-$(cat /sys/block/vda/serial 2>/dev/null || cat /sys/block/vda/device/serial)
            c=/sys/firmware/acpi/interrupts/ff_pwr_btn
            read -r n _ < $c; echo "POWER-BUTTON-WATCH count=$n"
            while read -r n _ < $c && [ "$n" = 0 ]; do sleep 0.1; done
            echo "POWER-BUTTON-PRESSED count=$n"
            """;
        var (spec, token) = PreparePod(Script, graceSeconds: 60);
        using var launcher = new Launcher(spec, token, _pod.Layout);
        launcher.WaitFor(l => l.Stderr.Contains("control API on", StringComparison.Ordinal), "the control API");
        using var client = Client(launcher.Port);
        launcher.WaitFor(l => l.Stdout.Contains("POWER-BUTTON-WATCH count=0", StringComparison.Ordinal), "the guest's init");
        HttpResponseMessage ready;
        try
        {
            ready = await client.GetAsync("/readyz", _ct);
        }
        catch (HttpRequestException e)
        {
            throw new InvalidOperationException($"{e.Message}; launcher {(launcher.Process.HasExited ? "exited" : "runs")}:\n{launcher.Stderr}", e);
        }
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("scratch-disk-scratch", launcher.Stdout);                     // the emptyDisk, with its serial
        Assert.Equal(16L << 20, new FileInfo(Path.Combine(_pod.Layout.VolumeDirectory("scratch"), "disk.img")).Length);

        Assert.Equal(HttpStatusCode.Accepted, (await client.PutAsync("/v1/pause", null, _ct)).StatusCode);
        Assert.Equal("Paused", await State(client));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/readyz", _ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PutAsync("/v1/unpause", null, _ct)).StatusCode);
        Assert.Equal("Running", await State(client));

        Assert.DoesNotContain("POWER-BUTTON-PRESSED", launcher.Stdout);           // the guest waited for us
        launcher.Signal("TERM");
        Assert.True(launcher.Process.WaitForExit(TimeSpan.FromMinutes(1)), $"the launcher did not end after SIGTERM:\n{launcher.Stderr}");
        Assert.True(launcher.Process.ExitCode == 0, launcher.Stderr);
        Assert.Contains("asked the guest to shut down (ACPI power button)", launcher.Stderr);
        Assert.Contains("stopped: GuestPowerOff", launcher.Stderr);
        Assert.Contains("POWER-BUTTON-PRESSED count=1", launcher.Stdout);
        Assert.False(File.Exists(_pod.Layout.ConsoleSocket));
    }

    [Fact]
    public void AGuestThatIgnoresTheButtonIsStoppedAfterTheGracePeriod()
    {
        var (spec, token) = PreparePod("echo IGNORING-THE-BUTTON; sleep 600", graceSeconds: 2);
        using var launcher = new Launcher(spec, token, _pod.Layout);
        launcher.WaitFor(l => l.Stdout.Contains("IGNORING-THE-BUTTON", StringComparison.Ordinal), "the guest's init");
        var asked = Stopwatch.StartNew();
        launcher.Signal("TERM");
        Assert.True(launcher.Process.WaitForExit(TimeSpan.FromMinutes(1)), launcher.Stderr);
        Assert.InRange(asked.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));
        Assert.Contains("did not shut down within the grace period", launcher.Stderr);
        Assert.Contains("stopped: HostRequest", launcher.Stderr);
    }
}
