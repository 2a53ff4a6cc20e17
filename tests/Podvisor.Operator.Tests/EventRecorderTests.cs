using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Tests;

public sealed class EventRecorderTests(CrdApiServerFixture fixture) : IClassFixture<CrdApiServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static VirtualMachine Involved(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Uid = Guid.NewGuid().ToString(), ResourceVersion = "7" },
    };

    private async Task<IList<Corev1Event>> EventsFor(string name) =>
        (await fixture.Client.CoreV1.ListNamespacedEventAsync("default", fieldSelector: $"involvedObject.name={name}", cancellationToken: Ct)).Items;

    [Fact]
    public async Task AnEventNamesItsObjectAndRepeatsCountInsteadOfPilingUp()
    {
        var clock = new ManualClock();
        var recorder = new EventRecorder(fixture.Client, "podvisor-operator", time: clock);
        var vm = Involved("evented");
        await recorder.RecordAsync(vm, EventRecorder.Normal, "SuccessfulCreate", "Created VirtualMachineInstance evented", Ct);
        clock.Now += TimeSpan.FromSeconds(30);
        await recorder.RecordAsync(vm, EventRecorder.Normal, "SuccessfulCreate", "Created VirtualMachineInstance evented", Ct);
        await recorder.RecordAsync(vm, EventRecorder.Warning, "FailedCreate", "quota exceeded", Ct);

        var events = await EventsFor("evented");
        Assert.Equal(2, events.Count);
        var created = events.Single(e => e.Reason == "SuccessfulCreate");
        Assert.Equal(2, created.Count);
        Assert.Equal(EventRecorder.Normal, created.Type);
        Assert.Equal((VirtualMachine.KindName, ApiGroup.ApiVersion, vm.Metadata.Uid), (created.InvolvedObject.Kind, created.InvolvedObject.ApiVersion, created.InvolvedObject.Uid));
        Assert.Equal("podvisor-operator", created.Source.Component);
        Assert.Equal(clock.Now.UtcDateTime, created.LastTimestamp);
        Assert.Equal(EventRecorder.Warning, events.Single(e => e.Reason == "FailedCreate").Type);
    }

    [Fact]
    public async Task AfterTheWindowTheSameEventIsNewAgain()
    {
        var clock = new ManualClock();
        var recorder = new EventRecorder(fixture.Client, "podvisor-operator", time: clock);
        var vm = Involved("evented-later");
        await recorder.RecordAsync(vm, EventRecorder.Normal, "Started", "started", Ct);
        clock.Now += EventRecorder.DeduplicationWindow;
        await recorder.RecordAsync(vm, EventRecorder.Normal, "Started", "started", Ct);
        Assert.Equal(2, (await EventsFor("evented-later")).Count);
    }

    [Fact]
    public async Task AnApiErrorIsLoggedNotThrown()
    {
        var logged = new List<string>();
        var recorder = new EventRecorder(fixture.Client, "podvisor-operator", logged.Add);
        var vm = Involved("elsewhere");
        vm.Metadata.NamespaceProperty = "no-such-namespace";
        await recorder.RecordAsync(vm, EventRecorder.Normal, "Started", "started", Ct);
        Assert.Contains(logged, l => l.Contains("not recorded", StringComparison.Ordinal));
    }
}
