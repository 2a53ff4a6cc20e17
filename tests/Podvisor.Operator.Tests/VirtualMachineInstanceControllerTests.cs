using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Controllers;
using Podvisor.Operator.Launcher;
using Podvisor.Operator.Runtime;
using Podvisor.Testing;

namespace Podvisor.Operator.Tests;

/// <summary>
/// The VirtualMachineInstance controller (with the VM controller beside it) against a real API server, with
/// <see cref="FakeNodes"/> playing scheduler and kubelet.
/// </summary>
public sealed class VirtualMachineInstanceControllerTests(CrdApiServerFixture fixture) : IClassFixture<CrdApiServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly Cluster _cluster = new(fixture.Client);
    private IKubernetes Client => fixture.Client;

    private static Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> condition, string what, int seconds = 20) =>
        Cluster.Eventually(read, condition, what, seconds);

    private Task<FakeNodes> Nodes(string ns, params string[] names) =>
        FakeNodes.StartAsync(Client, LauncherLabels.Selector, names.Select(n => (n, (IDictionary<string, string>?)null)), ns, cancellationToken: Ct);

    private static void WithPodNetwork(VirtualMachineInstanceSpec spec)
    {
        spec.Networks = [new Network { Name = "default", Pod = new PodNetwork() }];
        spec.Domain!.Devices = new Devices { Interfaces = [new Interface { Name = "default", Masquerade = new InterfaceBinding(), MacAddress = "02:00:00:00:00:07" }] };
    }

    [Fact]
    public async Task AVmiGetsOneLauncherPodAndRunsOnceTheNodeRunsIt()
    {
        string ns = await _cluster.Namespace("vmi-run");
        await using var nodes = await Nodes(ns, "vmi-run-node");
        await using var op = new InProcessOperator(Client);
        await _cluster.CreateVmi(ns, "alpine", WithPodNetwork);

        var vmi = await Eventually(() => _cluster.Vmi(ns, "alpine"), v => v?.Status?.Phase == VmiPhases.Running, "the VMI Running");
        var pod = Assert.Single(await _cluster.Pods(ns));
        Assert.StartsWith("podvisor-launcher-alpine-", pod.Metadata.Name);
        Assert.Equal(vmi!.Metadata.Uid, pod.Metadata.Labels[LauncherLabels.CreatedBy]);
        var owner = Assert.Single(pod.Metadata.OwnerReferences);
        Assert.Equal((VirtualMachineInstance.KindName, vmi.Metadata.Uid, true), (owner.Kind, owner.Uid, owner.Controller));
        var requests = pod.Spec.Containers[0].Resources.Requests;
        Assert.Equal((128 * 1024 * 1024 + (long)LauncherOverhead.Bytes(vmi.Spec.Domain!)), (long)requests["memory"].ToDecimal());
        Assert.Equal(1m, requests[LauncherPodOptions.KvmResource].ToDecimal());
        Assert.Equal(1m, requests[LauncherPodOptions.TunResource].ToDecimal());
        Assert.Equal(0.1m, requests["cpu"].ToDecimal());

        Assert.Equal("vmi-run-node", vmi.Status!.NodeName);
        Assert.True(Conditions.IsTrue(vmi.Status.Conditions, ConditionTypes.Ready));
        var nic = Assert.Single(vmi.Status.Interfaces!);
        Assert.Equal(("default", pod.Status.PodIP, "02:00:00:00:00:07"), (nic.Name, nic.IpAddress, nic.Mac));
        // Phases the operator saw, in order (a fast node can take a pod from Pending to Running between two looks).
        string[] phases = [.. vmi.Status.PhaseTransitionTimestamps!.Select(p => p.Phase)];
        Assert.Equal(VmiPhases.Pending, phases[0]);
        Assert.Equal(VmiPhases.Running, phases[^1]);
        Assert.Equal(phases.Distinct(), phases);
        Assert.Equal(pod.Spec.NodeName, vmi.Status.ActivePods![pod.Metadata.Uid]);

        // The control API's token: the VMI's own Secret, owned by it, mounted read-only for the launcher alone.
        var secret = await Client.CoreV1.ReadNamespacedSecretAsync(LauncherPodBuilder.ControlSecretName(vmi), ns, cancellationToken: Ct);
        Assert.Equal(64, secret.Data[LauncherPaths.ControlTokenKey].Length);
        Assert.Equal(vmi.Metadata.Uid, Assert.Single(secret.Metadata.OwnerReferences).Uid);
        var tokenVolume = Assert.Single(pod.Spec.Volumes, v => v.Secret?.SecretName == secret.Metadata.Name);
        Assert.Equal(0x100, tokenVolume.Secret.DefaultMode);
        Assert.Contains(pod.Spec.Containers[0].VolumeMounts, m => m.Name == tokenVolume.Name && m.MountPath == LauncherPaths.ControlDirectory && m.ReadOnlyProperty == true);
        Assert.Equal($"{LauncherPaths.ControlDirectory}/{LauncherPaths.ControlTokenKey}",
            pod.Spec.Containers[0].Command[pod.Spec.Containers[0].Command.IndexOf("--control-token-file") + 1]);

        await Task.Delay(500, Ct);
        Assert.Single(await _cluster.Pods(ns));          // still one: nothing created twice
    }

    private Task AnnotatePausedAsync(string ns, string name, bool paused) =>
        Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["annotations"] =
                new System.Text.Json.Nodes.JsonObject { [VmiAnnotations.Paused] = paused ? "true" : null } } }.ToJsonString(), V1Patch.PatchType.MergePatch),
            ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstances", name, cancellationToken: Ct);

    [Fact]
    public async Task TheVmPausesAndResumesAsItsAnnotationAsksAndItsConditionsSaySo()
    {
        string ns = await _cluster.Namespace("vmi-pause");
        await using var nodes = await Nodes(ns, "vmi-pause-node");
        var launchers = new FakeLaunchers();
        await using var op = new InProcessOperator(Client, launchers: launchers);
        await _cluster.CreateVmi(ns, "paused", WithPodNetwork);
        await Eventually(() => _cluster.Vmi(ns, "paused"), v => v?.Status?.Phase == VmiPhases.Running, "the VMI Running");
        string pod = Assert.Single(await _cluster.Pods(ns)).Metadata.Name;

        await AnnotatePausedAsync(ns, "paused", true);
        var vmi = await Eventually(() => _cluster.Vmi(ns, "paused"), v => Conditions.IsTrue(v?.Status?.Conditions, ConditionTypes.Paused), "Paused=True");
        Assert.True(launchers.Paused.ContainsKey(pod));
        Assert.Equal(ConditionReasons.PausedByUser, Conditions.Find(vmi!.Status!.Conditions, ConditionTypes.Paused)!.Reason);
        // Not ready while paused, and it stays so though the (fake) kubelet still reports the launcher ready.
        await Task.Delay(1000, Ct);
        var ready = Conditions.Find((await _cluster.Vmi(ns, "paused"))!.Status!.Conditions, ConditionTypes.Ready)!;
        Assert.Equal((Conditions.False, ConditionReasons.PausedByUser), (ready.Status, ready.Reason));
        Assert.Equal(VmiPhases.Running, (await _cluster.Vmi(ns, "paused"))!.Status!.Phase);

        await AnnotatePausedAsync(ns, "paused", false);
        vmi = await Eventually(() => _cluster.Vmi(ns, "paused"),
            v => Conditions.Find(v?.Status?.Conditions, ConditionTypes.Paused) is null && Conditions.IsTrue(v?.Status?.Conditions, ConditionTypes.Ready), "resumed and Ready");
        Assert.False(launchers.Paused.ContainsKey(pod));
        Assert.Equal([$"pause {pod}", $"unpause {pod}"], launchers.Calls.Where(c => c.Contains("pause")));
    }

    [Fact]
    public async Task APauseTheLauncherRefusesIsAnEventAndIsTriedAgain()
    {
        string ns = await _cluster.Namespace("vmi-pause-refused");
        await using var nodes = await Nodes(ns, "vmi-pause-refused-node");
        var launchers = new FakeLaunchers { PauseRefusal = "a migration is under way; cancel it (DELETE /v1/migration) to pause the VM" };
        await using var op = new InProcessOperator(Client, launchers: launchers);
        await _cluster.CreateVmi(ns, "busy", WithPodNetwork);
        await Eventually(() => _cluster.Vmi(ns, "busy"), v => v?.Status?.Phase == VmiPhases.Running, "the VMI Running");

        await AnnotatePausedAsync(ns, "busy", true);
        var warning = await Eventually(async () => (await Client.CoreV1.ListNamespacedEventAsync(ns, cancellationToken: Ct)).Items.FirstOrDefault(e => e.Reason == "PauseFailed"),
            e => e is not null, "a PauseFailed event");
        Assert.Equal("cannot pause: a migration is under way; cancel it (DELETE /v1/migration) to pause the VM", warning!.Message);
        Assert.Null(Conditions.Find((await _cluster.Vmi(ns, "busy"))!.Status!.Conditions, ConditionTypes.Paused));

        launchers.PauseRefusal = null;                   // the migration ended
        await Eventually(() => _cluster.Vmi(ns, "busy"), v => Conditions.IsTrue(v?.Status?.Conditions, ConditionTypes.Paused), "Paused=True once allowed",
            seconds: (int)VirtualMachineInstanceController.PauseRetry.TotalSeconds + 15);
    }

    [Fact]
    public async Task AnUnschedulableVmSaysWhyOnItsInstanceAndItsStatus()
    {
        string ns = await _cluster.Namespace("vmi-unschedulable");
        await using var nodes = await Nodes(ns, "vmi-unsched-node");
        await using var op = new InProcessOperator(Client);
        await _cluster.CreateVm(ns, "picky", RunStrategies.Always, s => s.NodeSelector = new Dictionary<string, string> { ["disktype"] = "nvme" });

        var vmi = await Eventually(() => _cluster.Vmi(ns, "picky"),
            v => Conditions.Find(v?.Status?.Conditions, ConditionTypes.PodScheduled)?.Reason == "Unschedulable", "PodScheduled=False Unschedulable");
        Assert.Empty(nodes.Errors);
        Assert.Equal(VmiPhases.Scheduling, vmi!.Status!.Phase);
        Assert.Contains("didn't match Pod's node affinity/selector", Conditions.Find(vmi.Status.Conditions, ConditionTypes.PodScheduled)!.Message);
        Assert.Equal("nvme", Assert.Single(await _cluster.Pods(ns)).Spec.NodeSelector["disktype"]);
        await Eventually(() => _cluster.Vm(ns, "picky"), v => v?.Status?.PrintableStatus == PrintableStatuses.ErrorUnschedulable, "printableStatus ErrorUnschedulable");
    }

    [Fact]
    public async Task AMissingPvcKeepsTheVmiPendingUntilTheClaimExists()
    {
        string ns = await _cluster.Namespace("vmi-pvc");
        await using var nodes = await Nodes(ns, "vmi-pvc-node");
        await using var op = new InProcessOperator(Client);
        await _cluster.CreateVm(ns, "db", RunStrategies.Always, s =>
        {
            s.Volumes = [new Volume { Name = "data", PersistentVolumeClaim = new() { ClaimName = "db-data" } }];
            s.Domain!.Devices = new Devices { Disks = [new Disk { Name = "data" }] };
        });

        var vmi = await Eventually(() => _cluster.Vmi(ns, "db"),
            v => Conditions.Find(v?.Status?.Conditions, ConditionTypes.Synchronized)?.Reason == ConditionReasons.PvcNotFound, "Synchronized=False FailedPvcNotFound");
        Assert.Equal(VmiPhases.Pending, vmi!.Status!.Phase);
        Assert.Equal($"PersistentVolumeClaim {ns}/db-data not found", Conditions.Find(vmi.Status.Conditions, ConditionTypes.Synchronized)!.Message);
        Assert.Empty(await _cluster.Pods(ns));
        await Eventually(() => _cluster.Vm(ns, "db"), v => v?.Status?.PrintableStatus == PrintableStatuses.ErrorPvcNotFound, "printableStatus ErrorPvcNotFound");

        await Client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
        {
            Metadata = new() { Name = "db-data" },
            Spec = new()
            {
                AccessModes = ["ReadWriteOnce"], VolumeMode = "Block",
                Resources = new() { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
            },
        }, ns, cancellationToken: Ct);
        vmi = await Eventually(() => _cluster.Vmi(ns, "db"), v => v?.Status?.Phase == VmiPhases.Running, "Running once the claim exists", seconds: 30);
        Assert.Null(Conditions.Find(vmi!.Status!.Conditions, ConditionTypes.Synchronized));
        var device = Assert.Single(Assert.Single(await _cluster.Pods(ns)).Spec.Containers[0].VolumeDevices);
        Assert.Equal(("data", $"{LauncherPaths.BlockDevices}/data"), (device.Name, device.DevicePath));
    }

    [Fact]
    public async Task AnInvalidSpecIsReportedByFieldAndNoPodIsMade()
    {
        string ns = await _cluster.Namespace("vmi-invalid");
        await using var op = new InProcessOperator(Client);
        await _cluster.CreateVmi(ns, "typo", s => s.Domain!.Devices = new Devices { Disks = [new Disk { Name = "rootdisk" }] });

        var vmi = await Eventually(() => _cluster.Vmi(ns, "typo"),
            v => Conditions.Find(v?.Status?.Conditions, ConditionTypes.Synchronized)?.Reason == ConditionReasons.InvalidSpec, "Synchronized=False InvalidSpec");
        Assert.Contains("spec.domain.devices.disks[0].name", Conditions.Find(vmi!.Status!.Conditions, ConditionTypes.Synchronized)!.Message);
        Assert.Contains("no volume is named \"rootdisk\"", Conditions.Find(vmi.Status.Conditions, ConditionTypes.Synchronized)!.Message);
        Assert.Equal(VmiPhases.Pending, vmi.Status.Phase);
        Assert.Empty(await _cluster.Pods(ns));
    }

    [Fact]
    public async Task TheLaunchersExitDecidesSucceededOrFailed()
    {
        string ns = await _cluster.Namespace("vmi-exit");
        await using var nodes = await Nodes(ns, "vmi-exit-node");
        nodes.Behaviour = (pod, ip) => Ended(pod, ip, pod.Metadata.Labels[LauncherLabels.Vmi] == "poweroff" ? 0 : 3);
        await using var op = new InProcessOperator(Client);
        await _cluster.CreateVmi(ns, "poweroff");
        await _cluster.CreateVmi(ns, "crash");

        var ok = await Eventually(() => _cluster.Vmi(ns, "poweroff"), v => v?.Status?.Phase == VmiPhases.Succeeded, "Succeeded");
        Assert.False(Conditions.IsTrue(ok!.Status!.Conditions, ConditionTypes.Ready));
        var failed = await Eventually(() => _cluster.Vmi(ns, "crash"), v => v?.Status?.Phase == VmiPhases.Failed, "Failed");
        Assert.Equal(ConditionReasons.PodFailed, failed!.Status!.Reason);
        Assert.Contains("exited with code 3", Conditions.Find(failed.Status.Conditions, ConditionTypes.Ready)!.Message);
        Assert.Contains("guest kernel panicked", Conditions.Find(failed.Status.Conditions, ConditionTypes.Ready)!.Message);
    }

    private static V1PodStatus Ended(V1Pod pod, string ip, int exitCode)
    {
        var status = FakeNodes.Status(pod, ip, ready: false);
        status.Phase = exitCode == 0 ? "Succeeded" : "Failed";
        foreach (var container in status.ContainerStatuses)
            container.State = new V1ContainerState
            {
                Terminated = new V1ContainerStateTerminated
                {
                    ExitCode = exitCode, Reason = exitCode == 0 ? "Completed" : "Error", Message = exitCode == 0 ? null : "guest kernel panicked",
                },
            };
        return status;
    }

    [Fact]
    public async Task ALauncherPodDeletedUnderARunningVmFailsTheInstanceAndAlwaysStartsANewOne()
    {
        string ns = await _cluster.Namespace("vmi-poddeleted");
        await using var nodes = await Nodes(ns, "vmi-poddel-node");
        await using var op = new InProcessOperator(Client);
        await _cluster.CreateVm(ns, "phoenix", RunStrategies.Always);
        var first = await Eventually(() => _cluster.Vmi(ns, "phoenix"), v => v?.Status?.Phase == VmiPhases.Running, "Running");
        var pod = Assert.Single(await _cluster.Pods(ns));
        await Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, ns, cancellationToken: Ct);

        var second = await Eventually(() => _cluster.Vmi(ns, "phoenix"),
            v => v is not null && v.Metadata.Uid != first!.Metadata.Uid && v.Status?.Phase == VmiPhases.Running, "a new instance Running");
        var pods = await _cluster.Pods(ns);
        Assert.Equal(second!.Metadata.Uid, Assert.Single(pods).Metadata.Labels[LauncherLabels.CreatedBy]);
        var events = await Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.uid={first!.Metadata.Uid}", cancellationToken: Ct);
        Assert.Contains(events.Items, e => e.Reason == ConditionReasons.PodDeleted && e.Type == "Warning");
    }

    [Fact]
    public async Task DeletingAVmTakesItsInstanceAndLauncherPodAway()
    {
        string ns = await _cluster.Namespace("vmi-delete");
        await using var nodes = await Nodes(ns, "vmi-delete-node");
        await using var op = new InProcessOperator(Client);
        await _cluster.CreateVm(ns, "temp", RunStrategies.Always);
        await Eventually(() => _cluster.Vmi(ns, "temp"), v => v?.Status?.Phase == VmiPhases.Running, "Running");
        Assert.Contains(VirtualMachineInstanceController.Finalizer, (await _cluster.Vmi(ns, "temp"))!.Metadata.Finalizers);
        Assert.Single((await Client.CoreV1.ListNamespacedSecretAsync(ns, cancellationToken: Ct)).Items, s => s.Metadata.Name.StartsWith("podvisor-control-", StringComparison.Ordinal));

        await _cluster.Delete(ns, "virtualmachines", "temp");
        await Eventually(() => _cluster.Pods(ns), p => p.Count == 0, "the launcher pod gone");
        // No garbage collector runs here: the finalizer deletes the control Secret itself.
        await Eventually(async () => (await Client.CoreV1.ListNamespacedSecretAsync(ns, cancellationToken: Ct)).Items, s => s.All(x => !x.Metadata.Name.StartsWith("podvisor-control-", StringComparison.Ordinal)), "the control Secret gone");
        await Eventually(() => _cluster.Vmi(ns, "temp"), v => v is null, "the VMI gone");
        await Eventually(() => _cluster.Vm(ns, "temp"), v => v is null, "the VM gone");
    }

    [Fact]
    public async Task ImagePullErrorsShowOnTheVm()
    {
        string ns = await _cluster.Namespace("vmi-pull");
        await using var nodes = await Nodes(ns, "vmi-pull-node");
        nodes.Behaviour = (pod, ip) =>
        {
            var status = FakeNodes.Status(pod, ip, ready: false);
            status.Phase = "Pending";
            status.ContainerStatuses[0].State = new V1ContainerState
            {
                Waiting = new V1ContainerStateWaiting { Reason = "ErrImagePull", Message = "manifest unknown" },
            };
            return status;
        };
        await using var op = new InProcessOperator(Client);
        await _cluster.CreateVm(ns, "noimage", RunStrategies.Always);
        var vmi = await Eventually(() => _cluster.Vmi(ns, "noimage"),
            v => Conditions.Find(v?.Status?.Conditions, ConditionTypes.Ready)?.Reason == "ErrImagePull", "Ready=False ErrImagePull");
        Assert.Contains("manifest unknown", Conditions.Find(vmi!.Status!.Conditions, ConditionTypes.Ready)!.Message);
        await Eventually(() => _cluster.Vm(ns, "noimage"), v => v?.Status?.PrintableStatus == PrintableStatuses.ErrImagePull, "printableStatus ErrImagePull");
    }

    [Fact]
    public async Task EveryVolumeKindMakesALauncherPodTheApiServerAccepts()
    {
        string ns = await _cluster.Namespace("vmi-volumes");
        await Client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
        {
            Metadata = new() { Name = "shared" },
            Spec = new() { AccessModes = ["ReadWriteMany"], Resources = new() { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } } },
        }, ns, cancellationToken: Ct);
        await using var op = new InProcessOperator(Client, new LauncherPodOptions { ServiceAccountName = "podvisor-launcher" });
        await _cluster.CreateVmi(ns, "everything", s =>
        {
            WithPodNetwork(s);
            s.Domain!.Firmware = new() { KernelBoot = new() { Container = new() { Image = "example.org/kernels:6.1", KernelPath = "/boot/vmlinuz", InitrdPath = "/boot/initrd" } } };
            s.Domain.Memory = new() { Guest = "1Gi", Hugepages = new() { PageSize = "2Mi" } };
            s.Volumes =
            [
                new Volume { Name = "root", ContainerDisk = new() { Image = "example.org/disks/alpine:3.20" } },
                new Volume { Name = "shared", PersistentVolumeClaim = new() { ClaimName = "shared", ReadOnly = true } },
                new Volume { Name = "scratch", EmptyDisk = new() { Capacity = "2Gi" } },
                new Volume { Name = "images", HostDisk = new() { Path = "/var/lib/images/a.img", Type = "DiskOrCreate", Capacity = "1Gi" } },
                new Volume { Name = "cloudinit", CloudInitNoCloud = new() { UserData = "#cloud-config\n" } },
            ];
            s.Domain.Devices!.Disks = [.. s.Volumes.Select(v => new Disk { Name = v.Name })];
            s.Tolerations = [new V1Toleration { Key = "dedicated", OperatorProperty = "Equal", Value = "vms", Effect = "NoSchedule" }];
        });

        var pod = (await Eventually(() => _cluster.Pods(ns), p => p.Count == 1, "the launcher pod"))[0];
        Assert.Equal(["install-helpers", "container-disk-0", "kernel-boot"], pod.Spec.InitContainers.Select(c => c.Name).ToArray());
        Assert.Equal("podvisor-launcher", pod.Spec.ServiceAccountName);
        Assert.Contains(pod.Spec.Tolerations, t => t is { Key: "dedicated", Value: "vms", Effect: "NoSchedule" });
        var requests = pod.Spec.Containers[0].Resources.Requests;
        Assert.Equal(1024m * 1024 * 1024, requests["hugepages-2Mi"].ToDecimal());
        var mounts = pod.Spec.Containers[0].VolumeMounts.ToDictionary(m => m.Name, m => m.MountPath);
        foreach (string volume in new[] { "root", "shared", "scratch", "images", "cloudinit" })
            Assert.Equal($"{LauncherPaths.Volumes}/{volume}", mounts[volume]);
        Assert.Equal("2Gi", pod.Spec.Volumes.Single(v => v.Name == "scratch").EmptyDir.SizeLimit.ToString());
        Assert.Equal("/var/lib/images", pod.Spec.Volumes.Single(v => v.Name == "images").HostPath.Path);
        // The launcher reads its VMI from the annotation, through the downward API.
        var spec = System.Text.Json.JsonSerializer.Deserialize(pod.Metadata.Annotations[LauncherPodBuilder.SpecAnnotation], ApiJsonContext.Default.VirtualMachineInstance)!;
        Assert.Equal(5, spec.Spec.Volumes!.Count);
        Assert.Equal(1, spec.Spec.Domain!.Cpu!.Sockets);                 // defaults applied before the launcher sees it
    }

    [Fact]
    public async Task AHundredVmsAppliedAtOnceEachGetExactlyOneLauncherPod()
    {
        const int count = 100;
        string ns = await _cluster.Namespace("vmi-burst");
        await using var nodes = await Nodes(ns, "burst-a", "burst-b");
        await using var op = new InProcessOperator(Client, workers: 4);
        await Task.WhenAll(Enumerable.Range(0, count).Select(i => _cluster.CreateVm(ns, $"vm-{i:D3}", RunStrategies.Always)));

        await Eventually(async () => (await Client.CustomObjects.ListNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns,
                "virtualmachineinstances", cancellationToken: Ct)) is System.Text.Json.JsonElement list
                ? list.GetProperty("items").EnumerateArray().Count(v => v.TryGetProperty("status", out var s) && s.TryGetProperty("phase", out var p) && p.GetString() == VmiPhases.Running)
                : 0,
            running => running == count, $"{count} VMIs Running", seconds: 120);
        await Task.Delay(1000, Ct);
        var pods = await _cluster.Pods(ns);
        Assert.Equal(count, pods.Count);
        Assert.Equal(count, pods.Select(p => p.Metadata.Labels[LauncherLabels.CreatedBy]).Distinct().Count());
        Assert.Equal(count, await _cluster.CountVmis(ns));
        Assert.All(pods, p => Assert.Contains(p.Spec.NodeName, new[] { "burst-a", "burst-b" }));
    }

    [Fact]
    public async Task AnOperatorRestartedRepeatedlyDuringABurstConvergesWithNoDuplicatePod()
    {
        const int count = 30;
        string ns = await _cluster.Namespace("vmi-restarts");
        await using var nodes = await Nodes(ns, "restart-node");
        var creates = Task.WhenAll(Enumerable.Range(0, count).Select(i => _cluster.CreateVm(ns, $"vm-{i:D2}", RunStrategies.Always)));
        // Kill the operator between steps it is in the middle of: VMIs half made, pods half made, statuses half written.
        for (int round = 0; round < 6; round++)
        {
            await using var op = new InProcessOperator(Client);
            await Task.Delay(150 + 100 * round, Ct);
        }
        await creates;
        await using var last = new InProcessOperator(Client);
        var pods = await Eventually(async () => await _cluster.Pods(ns), p => p.Count >= count && p.All(x => x.Status?.Phase == "Running"),
            $"{count} launcher pods running", seconds: 60);
        await Eventually(async () =>
        {
            int running = 0;
            for (int i = 0; i < count; i++) running += (await _cluster.Vmi(ns, $"vm-{i:D2}"))?.Status?.Phase == VmiPhases.Running ? 1 : 0;
            return running;
        }, n => n == count, $"{count} VMIs Running", seconds: 60);
        pods = await _cluster.Pods(ns);
        Assert.Equal(count, pods.Count);
        Assert.Equal(count, pods.Select(p => p.Metadata.Labels[LauncherLabels.CreatedBy]).Distinct().Count());
        Assert.Equal(count, await _cluster.CountVmis(ns));
    }
}
