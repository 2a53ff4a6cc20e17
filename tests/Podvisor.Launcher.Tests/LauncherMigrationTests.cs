using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Podvisor.Vmm.Migration;
using Podvisor.Api.Control;
using Podvisor.Launcher.Migration;
using Podvisor.Testing;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Memory;

namespace Podvisor.Launcher.Tests;

/// <summary>
/// Two launchers in this process, a source and a migration target, on this host's KVM (hand-built PVH guests: kvm_pvm
/// runs them): the operator's calls (<c>PUT /v1/migrate</c>, <c>GET</c>/<c>DELETE /v1/migration</c>) move a counting
/// guest over mutual TLS, a stranger's certificate is refused, and a cancelled migration leaves the VM running at
/// the source while the target ends without ever having run it.
/// </summary>
public sealed class LauncherMigrationTests : IAsyncDisposable
{
    private const string Token = "migration-test-token-0123456789";
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-launcher-migration-").FullName;
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;
    private readonly List<Side> _sides = [];
    private readonly ConcurrentQueue<string> _log = new();

    private sealed class Side
    {
        public required LauncherVm Vm;
        public required Task<VmStopped> Run;
        public required ControlServer Server;
        public required HttpClient Client;
        public IncomingMigration? Incoming;
        public volatile VirtualMachine? Machine;

        public uint Counter => Machine!.Memory.ReadValue<uint>(new GuestAddress(TinyPvhGuest.CounterAddress));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var side in _sides)
        {
            side.Vm.Stop();
            try
            {
                await side.Run.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
            }
            catch (LauncherException) { }       // a target whose VM never came
            await side.Server.DisposeAsync();
            side.Client.Dispose();
            side.Incoming?.Dispose();
        }
        Directory.Delete(_dir, recursive: true);
    }

    private MachineConfig CounterMachine(int pages)
    {
        string kernel = Path.Combine(_dir, $"counter-{pages}.elf");
        if (!File.Exists(kernel)) TinyPvhGuest.WriteCounter(kernel, pages);
        return new MachineConfig { KernelPath = kernel, MemoryMiB = 64, CommandLine = "" };
    }

    private async Task<Side> StartAsync(MachineConfig config, IncomingMigration? incoming)
    {
        var vm = new LauncherVm("default/vm1", config, _ => { }, incoming);
        var certificate = ControlServer.SelfSignedCertificate("vm1");
        var server = await ControlServer.StartAsync(vm, null, IPAddress.Loopback, 0, System.Text.Encoding.UTF8.GetBytes(Token), certificate, _log.Enqueue, _ct);
        var client = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == certificate.Thumbprint })
        {
            BaseAddress = new Uri($"https://127.0.0.1:{server.Port}"),
        };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Side? side = null;
        var run = Task.Factory.StartNew(() =>
        {
            vm.Started += machine => side!.Machine = machine;
            return incoming is null ? vm.Run() : vm.RunIncoming(new MigrationOptions());
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        side = new Side { Vm = vm, Run = run, Server = server, Client = client, Incoming = incoming };
        _sides.Add(side);
        return side;
    }

    /// <summary>A counting source that has counted a while.</summary>
    private async Task<Side> SourceAsync(int pages)
    {
        var source = await StartAsync(CounterMachine(pages), incoming: null);
        await EventuallyAsync(() => source.Machine is not null && source.Counter > 10_000, "the source guest to count");
        return source;
    }

    private async Task<Side> TargetAsync(int pages, TlsMaterial tls, string uid)
    {
        var incoming = IncomingMigration.Listen(IPAddress.Loopback, 0, MigrationTls.From(tls), uid, _log.Enqueue);
        return await StartAsync(CounterMachine(pages), incoming);
    }

    private static MigrateRequest Request(string uid, Side target, TlsMaterial tls, double? maxDowntimeMs = null, bool? autoConverge = null) =>
        new(uid, "127.0.0.1", target.Incoming!.Port, tls, MaxDowntimeMilliseconds: maxDowntimeMs, AllowAutoConverge: autoConverge);

    private async Task<HttpResponseMessage> MigrateAsync(Side source, MigrateRequest request) =>
        await source.Client.PutAsJsonAsync("/v1/migrate", request, ControlApiJson.Default.MigrateRequest, _ct);

    private async Task<LauncherMigrationStatus> MigrationOf(Side side) =>
        (await side.Client.GetFromJsonAsync("/v1/migration", ControlApiJson.Default.LauncherMigrationStatus, _ct))!;

    private async Task<LauncherMigrationStatus> EndOfMigrationAsync(Side source)
    {
        LauncherMigrationStatus? status = null;
        await EventuallyAsync(async () => (status = await MigrationOf(source)).Phase is LauncherMigrationPhases.Completed or LauncherMigrationPhases.Failed,
            "the migration to end");
        return status!;
    }

    private Task EventuallyAsync(Func<bool> condition, string what, double seconds = 60) => EventuallyAsync(() => Task.FromResult(condition()), what, seconds);

    private async Task EventuallyAsync(Func<Task<bool>> condition, string what, double seconds = 60)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed.TotalSeconds > seconds) throw new TimeoutException($"waited {seconds} s for {what}; launcher log:\n{string.Join("\n", _log)}");
            await Task.Delay(10, _ct);
        }
    }

    [Fact]
    public async Task ACountingGuestMovesToTheTargetAndCountsOnThere()
    {
        var tls = MigrationCertificates.Create("default/migration1");
        string uid = Guid.NewGuid().ToString();
        var spans = new System.Collections.Concurrent.ConcurrentQueue<System.Diagnostics.Activity>();
        var traceId = MigrationTrace.ContextOf(uid).TraceId;
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == LauncherTelemetry.Name,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { if (activity.TraceId == traceId) spans.Enqueue(activity); },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        var source = await SourceAsync(pages: 256);
        var target = await TargetAsync(pages: 256, tls, uid);

        Assert.Equal(LauncherVm.IncomingState, target.Vm.Status.State);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await target.Client.GetAsync("/readyz", _ct)).StatusCode);   // not Ready before the VM is there
        var listening = await MigrationOf(target);
        Assert.Equal((LauncherMigrationStatus.Target, LauncherMigrationPhases.Listening, target.Incoming!.Port), (listening.Role, listening.Phase, listening.Port));
        var refused = await MigrateAsync(target, Request(uid, target, tls));
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("migration target", await refused.Content.ReadAsStringAsync(_ct));

        uint before = source.Counter;
        Assert.Equal(HttpStatusCode.Accepted, (await MigrateAsync(source, Request(uid, target, tls))).StatusCode);
        var done = await EndOfMigrationAsync(source);
        Assert.True(done.Phase == LauncherMigrationPhases.Completed, $"{done.Phase}: {done.FailureReason}");
        Assert.True(done.HandedOver);
        Assert.True(done.DowntimeMilliseconds > 0 && done.TotalMilliseconds >= done.DowntimeMilliseconds, $"downtime {done.DowntimeMilliseconds} ms of {done.TotalMilliseconds} ms");
        Assert.True(done.BytesTransferred > 256 * 4096 && done.Iterations >= 1, $"{done.BytesTransferred} bytes in {done.Iterations} rounds");
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join("\n", _log));
        // The link uses the suite that encrypts fastest here (AES-128-GCM with AES in hardware), not OpenSSL's first pick.
        Assert.Contains(_log, l => l.Contains($"(TLSv1.3, {Migration.MigrationTls.PreferredCipherSuites[0]})", StringComparison.Ordinal));

        var stopped = await source.Run.WaitAsync(TimeSpan.FromSeconds(30), _ct);
        Assert.Equal(StopReason.Migrated, stopped.Reason);
        Assert.Equal(0, stopped.ExitCode);
        Assert.Equal("Stopped", source.Vm.Status.State);

        Assert.Equal("Running", target.Vm.Status.State);
        Assert.Equal(HttpStatusCode.OK, (await target.Client.GetAsync("/readyz", _ct)).StatusCode);
        uint arrivedAt = target.Counter;
        Assert.True(arrivedAt > before, $"the target's count {arrivedAt} is not past the source's {before}: the guest started over");
        await EventuallyAsync(() => target.Counter > arrivedAt + 1_000_000, "the guest to count on at the target");
        var arrived = await MigrationOf(target);
        Assert.Equal(LauncherMigrationPhases.Completed, arrived.Phase);
        Assert.True(arrived.BytesTransferred > 0);

        var again = await source.Client.DeleteAsync("/v1/migration", _ct);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("handed over", await again.Content.ReadAsStringAsync(_ct));

        // Both sides are spans of the migration's trace (its UID), children of the migration itself.
        var send = Assert.Single(spans, s => s.DisplayName == "migration send");
        var receive = Assert.Single(spans, s => s.DisplayName == "migration receive");
        Assert.All(new[] { send, receive }, s => Assert.Equal(MigrationTrace.ContextOf(uid).SpanId, s.ParentSpanId));
        Assert.Equal(done.DowntimeMilliseconds, (double)send.GetTagItem("podvisor.migration.downtime_ms")!);
        Assert.Equal(done.BytesTransferred, (long)send.GetTagItem("podvisor.migration.bytes")!);
        Assert.Contains(send.Events, e => e.Name == "full pass");
        Assert.True((long)receive.GetTagItem("podvisor.migration.bytes")! > 0);
        Assert.Equal(System.Diagnostics.ActivityStatusCode.Unset, send.Status);
    }

    [Fact]
    public async Task AnotherMigrationsCertificateIsRefusedAndTheVmRunsOnAtTheSource()
    {
        var tls = MigrationCertificates.Create("default/migration1");
        var stranger = MigrationCertificates.Create("default/someone-else");
        var source = await SourceAsync(pages: 256);
        var target = await TargetAsync(pages: 256, tls, "uid-1");

        Assert.Equal(HttpStatusCode.Accepted, (await MigrateAsync(source, Request("uid-0", target, stranger))).StatusCode);
        var failed = await EndOfMigrationAsync(source);
        Assert.Equal(LauncherMigrationPhases.Failed, failed.Phase);
        Assert.Contains("mutual TLS", failed.FailureReason);
        Assert.NotEqual(true, failed.HandedOver);
        Assert.Equal("Running", source.Vm.Status.State);
        uint counted = source.Counter;
        await EventuallyAsync(() => source.Counter > counted + 1_000_000, "the guest to count on at the source");
        Assert.Equal(LauncherVm.IncomingState, target.Vm.Status.State);
        Assert.Contains(_log, line => line.Contains("refused a connection"));

        // The target listens on: the right credentials get through.
        Assert.Equal(HttpStatusCode.Accepted, (await MigrateAsync(source, Request("uid-1", target, tls))).StatusCode);
        var done = await EndOfMigrationAsync(source);
        Assert.True(done.Phase == LauncherMigrationPhases.Completed, $"{done.Phase}: {done.FailureReason}");
        await EventuallyAsync(() => target.Vm.Status.State == "Running", "the VM to run at the target");
    }

    [Fact]
    public async Task ACancelledMigrationLeavesTheVmRunningAtTheSourceAndEndsTheTarget()
    {
        var tls = MigrationCertificates.Create("default/migration1");
        var source = await SourceAsync(pages: 2048);
        var target = await TargetAsync(pages: 2048, tls, "uid-1");
        // A 4 MiB/s link: the guest's 8 MiB take a while to cross, and the cancel comes while they do.
        await using var link = new ThrottledRelay(target.Incoming!.Port, bytesPerSecond: 4 << 20);

        Assert.Equal(HttpStatusCode.Accepted, (await MigrateAsync(source, Request("uid-1", target, tls) with { TargetPort = link.Port })).StatusCode);
        await EventuallyAsync(() => link.Forwarded > 1 << 20, "a MiB to cross");
        var second = await MigrateAsync(source, Request("uid-2", target, tls));
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Contains("uid-1 is under way", await second.Content.ReadAsStringAsync(_ct));
        var pause = await source.Client.PutAsync("/v1/pause", null, _ct);
        Assert.Equal(HttpStatusCode.Conflict, pause.StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await source.Client.DeleteAsync("/v1/migration", _ct)).StatusCode);
        var cancelled = await EndOfMigrationAsync(source);
        Assert.Equal((LauncherMigrationPhases.Failed, "cancelled"), (cancelled.Phase, cancelled.FailureReason));
        Assert.NotEqual(true, cancelled.HandedOver);
        Assert.Equal("Running", source.Vm.Status.State);
        uint counted = source.Counter;
        await EventuallyAsync(() => source.Counter > counted + 1_000_000, "the guest to count on at the source");

        var ended = await Assert.ThrowsAsync<LauncherException>(() => target.Run.WaitAsync(TimeSpan.FromSeconds(30), _ct));
        Assert.True(ended.Message.Contains("the source cancelled the migration"), ended.Message);
        Assert.Equal("Stopped", target.Vm.Status.State);
        Assert.Equal(LauncherMigrationPhases.Failed, (await MigrationOf(target)).Phase);
    }

    [Fact]
    public async Task AMalformedRequestIsRefusedWithWhatIsWrong()
    {
        var source = await SourceAsync(pages: 16);
        var response = await source.Client.PutAsync("/v1/migrate", new StringContent("""{ "migrationUid": "", "targetAddress": "10.0.0.1", "targetPort": 70000 }""",
            System.Text.Encoding.UTF8, "application/json"), _ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync(_ct);
        Assert.Contains("migrationUid: required", body);
        Assert.Contains("targetPort: 70000", body);
        Assert.Contains("tls:", body);
        Assert.Equal(HttpStatusCode.BadRequest, (await source.Client.PutAsync("/v1/migrate", new StringContent("not json"), _ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await source.Client.GetAsync("/v1/migration", _ct)).StatusCode);
        Assert.Equal("Running", source.Vm.Status.State);
    }
}
