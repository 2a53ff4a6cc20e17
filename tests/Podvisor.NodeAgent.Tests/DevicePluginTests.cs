using Grpc.Core;
using Podvisor.NodeAgent.DevicePluginApi;

namespace Podvisor.NodeAgent.Tests;

/// <summary>
/// The node agent against the kubelet's side of the device plugin API, played by the test: it registers
/// devices.podvisor.io/kvm and /tun on the kubelet's socket, serves their units and health (again when a device goes
/// or comes), gives a container the device node and nothing else, registers again when the kubelet restarts, retries
/// a refused registration, and removes its sockets when stopped.
/// </summary>
public sealed class DevicePluginTests : IAsyncDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-node-agent-").FullName;
    private string Plugins => Path.Combine(_dir, "device-plugins");
    private string HostRoot => Path.Combine(_dir, "host");

    public DevicePluginTests()
    {
        Directory.CreateDirectory(Plugins);
        // Stand-ins for the host's device nodes, where the agent sees the host's /dev (the DaemonSet's /host/dev).
        Directory.CreateDirectory(Path.Combine(HostRoot, "dev", "net"));
        File.WriteAllText(Path.Combine(HostRoot, "dev", "kvm"), "");
        File.WriteAllText(Path.Combine(HostRoot, "dev", "net", "tun"), "");
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }

    private AgentProcess StartAgent(params string[] extra) =>
        new(["--device-plugin-dir", Plugins, "--device-root", HostRoot, "--units", "4", "--interval-seconds", "0.2", .. extra]);

    private DevicePlugin.DevicePluginClient Plugin(string endpoint) => new(KubeletRegistration.UnixChannel(Path.Combine(Plugins, endpoint)));

    private static async Task<ListAndWatchResponse> NextAsync(IAsyncStreamReader<ListAndWatchResponse> stream, AgentProcess agent)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        Assert.True(await stream.MoveNext(timeout.Token), $"the ListAndWatch stream ended:\n{agent.Log}");
        return stream.Current;
    }

    [Fact]
    public async Task ItRegistersBothDevicesAndServesThemAsTheKubeletAsks()
    {
        await using var kubelet = await FakeKubelet.StartAsync(Plugins);
        await using var agent = StartAgent();
        var registrations = new[] { await kubelet.NextRegistrationAsync(), await kubelet.NextRegistrationAsync() }.OrderBy(r => r.ResourceName).ToList();
        Assert.Equal([("devices.podvisor.io/kvm", "podvisor-kvm.sock", "v1beta1"), ("devices.podvisor.io/tun", "podvisor-tun.sock", "v1beta1")],
            registrations.Select(r => (r.ResourceName, r.Endpoint, r.Version)));

        var kvm = Plugin("podvisor-kvm.sock");
        Assert.True((await kvm.GetDevicePluginOptionsAsync(new Empty(), cancellationToken: Ct)).GetPreferredAllocationAvailable);
        using var watch = kvm.ListAndWatch(new Empty(), cancellationToken: Ct);
        var first = await NextAsync(watch.ResponseStream, agent);
        Assert.Equal(["kvm-0", "kvm-1", "kvm-2", "kvm-3"], first.Devices.Select(d => d.ID));
        Assert.All(first.Devices, d => Assert.Equal("Healthy", d.Health));

        var preferred = await kvm.GetPreferredAllocationAsync(new PreferredAllocationRequest
        {
            ContainerRequests = { new ContainerPreferredAllocationRequest { AvailableDeviceIDs = { "kvm-1", "kvm-2", "kvm-3" }, MustIncludeDeviceIDs = { "kvm-3" }, AllocationSize = 2 } },
        }, cancellationToken: Ct);
        Assert.Equal(["kvm-3", "kvm-1"], preferred.ContainerResponses.Single().DeviceIDs);

        // A container given a unit gets the device node, read-write, and nothing else: no mounts, no environment.
        var allocated = (await kvm.AllocateAsync(new AllocateRequest { ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { "kvm-0" } } } },
            cancellationToken: Ct)).ContainerResponses.Single();
        var spec = Assert.Single(allocated.Devices);
        Assert.Equal(("/dev/kvm", "/dev/kvm", "rw"), (spec.HostPath, spec.ContainerPath, spec.Permissions));
        Assert.Empty(allocated.Mounts);
        Assert.Empty(allocated.Envs);
        var tun = (await Plugin("podvisor-tun.sock").AllocateAsync(new AllocateRequest { ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { "tun-2" } } } },
            cancellationToken: Ct)).ContainerResponses.Single().Devices.Single();
        Assert.Equal(("/dev/net/tun", "/dev/net/tun"), (tun.HostPath, tun.ContainerPath));
        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await kvm.AllocateAsync(new AllocateRequest
        {
            ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { "kvm-9" } } },
        }, cancellationToken: Ct));
        Assert.Equal((StatusCode.InvalidArgument, "devices.podvisor.io/kvm has no unit kvm-9"), (unknown.StatusCode, unknown.Status.Detail));

        // The device goes (kvm_amd unloaded): every unit is Unhealthy and nothing is allocated; it comes back: Healthy.
        File.Delete(Path.Combine(HostRoot, "dev", "kvm"));
        Assert.All((await NextAsync(watch.ResponseStream, agent)).Devices, d => Assert.Equal("Unhealthy", d.Health));
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await kvm.AllocateAsync(new AllocateRequest
        {
            ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { "kvm-0" } } },
        }, cancellationToken: Ct));
        Assert.Equal(StatusCode.FailedPrecondition, missing.StatusCode);
        File.WriteAllText(Path.Combine(HostRoot, "dev", "kvm"), "");
        Assert.All((await NextAsync(watch.ResponseStream, agent)).Devices, d => Assert.Equal("Healthy", d.Health));
    }

    [Fact]
    public async Task AKubeletRestartIsFollowedByANewRegistration()
    {
        var kubelet = await FakeKubelet.StartAsync(Plugins);
        await using var agent = StartAgent();
        await kubelet.NextRegistrationAsync();
        await kubelet.NextRegistrationAsync();
        await kubelet.DisposeAsync();

        // A restarting kubelet empties its device-plugins directory and listens anew.
        foreach (string socket in Directory.GetFiles(Plugins)) File.Delete(socket);
        await using var restarted = await FakeKubelet.StartAsync(Plugins);
        var again = new[] { await restarted.NextRegistrationAsync(), await restarted.NextRegistrationAsync() };
        Assert.Equal(["devices.podvisor.io/kvm", "devices.podvisor.io/tun"], again.Select(r => r.ResourceName).Order());
        using var watch = Plugin("podvisor-tun.sock").ListAndWatch(new Empty(), cancellationToken: Ct);
        Assert.Equal(4, (await NextAsync(watch.ResponseStream, agent)).Devices.Count);
        await agent.WaitForLogAsync("is gone (the kubelet restarted?): serving it again");
    }

    [Fact]
    public async Task ARefusedRegistrationIsTriedAgainAndSaysWhy()
    {
        await using var kubelet = await FakeKubelet.StartAsync(Plugins);
        kubelet.Refusal = "resource devices.podvisor.io/kvm is taken";
        await using var agent = StartAgent();
        await agent.WaitForLogAsync("devices.podvisor.io/kvm: not registered: the kubelet refused devices.podvisor.io/kvm: AlreadyExists resource devices.podvisor.io/kvm is taken");
        kubelet.Refusal = null;
        var registered = new[] { await kubelet.NextRegistrationAsync(), await kubelet.NextRegistrationAsync() };
        Assert.Equal(["devices.podvisor.io/kvm", "devices.podvisor.io/tun"], registered.Select(r => r.ResourceName).Order());
    }

    [Fact]
    public async Task WithoutAKubeletItWaitsAndOnSigtermItRemovesItsSockets()
    {
        await using var agent = StartAgent();
        await agent.WaitForLogAsync("not registered: no kubelet socket at");
        Assert.True(File.Exists(Path.Combine(Plugins, "podvisor-kvm.sock")));
        await using var kubelet = await FakeKubelet.StartAsync(Plugins);
        await kubelet.NextRegistrationAsync();
        await kubelet.NextRegistrationAsync();
        Assert.Equal(0, await agent.TerminateAsync());
        Assert.Equal(["kubelet.sock"], Directory.GetFiles(Plugins).Select(Path.GetFileName));
    }

    [Fact]
    public async Task AMissingPluginDirectoryOrBadUnitsStopItAtOnceSayingWhy()
    {
        await using (var agent = new AgentProcess(["--device-plugin-dir", Path.Combine(_dir, "nope")]))
        {
            await agent.WaitForExitAsync();
            Assert.Equal(2, agent.ExitCode);
            Assert.Contains("does not exist: mount the kubelet's device-plugins directory there (hostPath), or give --device-plugin-dir", agent.Log);
        }
        await using (var agent = new AgentProcess(["--device-plugin-dir", Plugins, "--units", "0"]))
        {
            await agent.WaitForExitAsync();
            Assert.NotEqual(0, agent.ExitCode);
            Assert.Contains("--units must be between 1 and 10000", agent.Log);
        }
    }
}
