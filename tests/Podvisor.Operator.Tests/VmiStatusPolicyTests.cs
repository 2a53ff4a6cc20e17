using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Controllers;
using Podvisor.Operator.Launcher;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Tests;

public sealed class VmiStatusPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static VirtualMachineInstance Vmi(string? phase = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "vm", NamespaceProperty = "ns", Uid = "vmi-uid" },
        Spec = Cluster.InstanceSpec(s =>
        {
            s.Networks = [new Network { Name = "default", Pod = new() }];
            s.Domain!.Devices = new Devices { Interfaces = [new Interface { Name = "default", Masquerade = new() }] };
        }),
        Status = phase is null ? null : new VirtualMachineInstanceStatus { Phase = phase },
    };

    private static V1Pod Pod(string? phase, string? node = null, bool ready = false, string? waiting = null, V1PodCondition? scheduled = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "podvisor-launcher-vm-abcde", Uid = "pod-uid" },
        Spec = new V1PodSpec { NodeName = node, Containers = [new V1Container { Name = LauncherLabels.ComputeContainer }] },
        Status = new V1PodStatus
        {
            Phase = phase,
            PodIP = ready ? "10.244.0.9" : null,
            Conditions = scheduled is null ? null : [scheduled],
            ContainerStatuses = phase is null ? null :
            [
                new V1ContainerStatus
                {
                    Name = LauncherLabels.ComputeContainer, Ready = ready,
                    State = waiting is null ? null : new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = waiting, Message = "details" } },
                },
            ],
        },
    };

    private static VirtualMachineInstanceStatus Observe(VirtualMachineInstance vmi, params V1Pod[] pods) => VmiStatusPolicy.Observe(vmi, pods, null, Now).Status;

    [Fact]
    public void WithoutAPodTheVmiIsPendingAndNeedsOne()
    {
        var observation = VmiStatusPolicy.Observe(Vmi(), [], null, Now);
        Assert.True(observation.NeedsPod);
        Assert.Equal(VmiPhases.Pending, observation.Status.Phase);
        Assert.Equal(ConditionReasons.PodPending, Conditions.Find(observation.Status.Conditions, ConditionTypes.Ready)!.Reason);
        Assert.Equal(Now, Assert.Single(observation.Status.PhaseTransitionTimestamps!).PhaseTransitionTimestamp);
    }

    [Fact]
    public void ADeletedVmiNeedsNoPod() => Assert.False(VmiStatusPolicy.Observe(Deleting(Vmi()), [], null, Now).NeedsPod);

    private static VirtualMachineInstance Deleting(VirtualMachineInstance vmi)
    {
        vmi.Metadata.DeletionTimestamp = Now.UtcDateTime;
        return vmi;
    }

    [Theory]
    [InlineData("Pending", null, false, VmiPhases.Scheduling)]
    [InlineData("Pending", "node-a", false, VmiPhases.Scheduling)]
    [InlineData("Running", "node-a", false, VmiPhases.Scheduled)]
    [InlineData("Running", "node-a", true, VmiPhases.Running)]
    [InlineData("Succeeded", "node-a", false, VmiPhases.Succeeded)]
    [InlineData("Failed", "node-a", false, VmiPhases.Failed)]
    public void PodPhasesMapToVmiPhases(string podPhase, string? node, bool ready, string expected)
    {
        var status = Observe(Vmi(VmiPhases.Pending), Pod(podPhase, node, ready));
        Assert.Equal(expected, status.Phase);
        Assert.Equal(node, status.NodeName);
        Assert.Equal(expected == VmiPhases.Running, Conditions.IsTrue(status.Conditions, ConditionTypes.Ready));
    }

    [Fact]
    public void ARunningVmiReportsThePodAddressOnPodNetworkInterfaces()
    {
        var status = Observe(Vmi(VmiPhases.Scheduled), Pod("Running", "node-a", ready: true));
        var nic = Assert.Single(status.Interfaces!);
        Assert.Equal(("default", "10.244.0.9"), (nic.Name, nic.IpAddress));
        Assert.Equal("node-a", status.ActivePods!["pod-uid"]);
    }

    [Fact]
    public void PhasesNeverGoBackwards()
    {
        // Readiness lost while running: still Running, but not Ready.
        var status = Observe(Vmi(VmiPhases.Running), Pod("Running", "node-a", ready: false));
        Assert.Equal(VmiPhases.Running, status.Phase);
        Assert.False(Conditions.IsTrue(status.Conditions, ConditionTypes.Ready));
    }

    [Theory]
    [InlineData(VmiPhases.Succeeded)]
    [InlineData(VmiPhases.Failed)]
    public void FinalPhasesStay(string final)
    {
        var observation = VmiStatusPolicy.Observe(Vmi(final), [Pod("Running", "node-a", ready: true)], null, Now);
        Assert.Equal(final, observation.Status.Phase);
        Assert.False(observation.NeedsPod);
    }

    [Theory]
    [InlineData(VmiPhases.Scheduling)]
    [InlineData(VmiPhases.Scheduled)]
    [InlineData(VmiPhases.Running)]
    public void APodThatVanishesAfterItExistedFailsTheVmi(string phase)
    {
        var observation = VmiStatusPolicy.Observe(Vmi(phase), [], null, Now);
        Assert.False(observation.NeedsPod);                 // never a second pod for the same VMI
        Assert.Equal((VmiPhases.Failed, ConditionReasons.PodDeleted), (observation.Status.Phase, observation.Status.Reason));
    }

    [Fact]
    public void UnschedulableIsCopiedFromThePod()
    {
        var scheduled = new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/3 nodes are available" };
        var status = Observe(Vmi(VmiPhases.Pending), Pod("Pending", scheduled: scheduled));
        var condition = Conditions.Find(status.Conditions, ConditionTypes.PodScheduled)!;
        Assert.Equal(("False", "Unschedulable", "0/3 nodes are available"), (condition.Status, condition.Reason, condition.Message));
    }

    [Fact]
    public void AWaitingContainerGivesTheNotReadyReason()
    {
        var status = Observe(Vmi(VmiPhases.Pending), Pod("Pending", "node-a", waiting: "ImagePullBackOff"));
        var ready = Conditions.Find(status.Conditions, ConditionTypes.Ready)!;
        Assert.Equal("ImagePullBackOff", ready.Reason);
        Assert.Contains("details", ready.Message);
    }

    [Fact]
    public void AProblemSetsSynchronizedFalseAndItsAbsenceClearsIt()
    {
        var problem = new VmiPodProblem(ConditionReasons.PvcNotFound, "PersistentVolumeClaim ns/x not found");
        var vmi = Vmi(VmiPhases.Pending);
        vmi.Status = VmiStatusPolicy.Observe(vmi, [], problem, Now).Status;
        Assert.Equal(ConditionReasons.PvcNotFound, Conditions.Find(vmi.Status.Conditions, ConditionTypes.Synchronized)!.Reason);
        Assert.Null(Conditions.Find(Observe(vmi, Pod("Pending")).Conditions, ConditionTypes.Synchronized));
    }

    [Fact]
    public void ObservingTheSameWorldTwiceChangesNothing()
    {
        var vmi = Vmi(VmiPhases.Pending);
        var pod = Pod("Running", "node-a", ready: true);
        vmi.Status = Observe(vmi, pod);
        Assert.True(VmiStatusPolicy.Same(vmi.Status, VmiStatusPolicy.Observe(vmi, [pod], null, Now.AddMinutes(1)).Status));
    }

    /// <summary>The source pod of a migration that handed its VM over and exited 0, with its report as termination message.</summary>
    private static V1Pod HandedOverSource()
    {
        var pod = Pod("Succeeded", node: "node-a");
        pod.Status.ContainerStatuses[0].State = new V1ContainerState
        {
            Terminated = new V1ContainerStateTerminated { ExitCode = 0, Message = """{"migrationUid":"m1","role":"Source","phase":"Completed","handedOver":true}""" },
        };
        return pod;
    }

    [Fact]
    public void TheSourceEndingDuringAMigrationIsNotTheVmEnding()
    {
        var vmi = Vmi(VmiPhases.Running);
        vmi.Status!.MigrationState = new MigrationState { MigrationUid = "m1", SourcePod = "podvisor-launcher-vm-abcde", StartTimestamp = Now };
        var status = Observe(vmi, HandedOverSource());
        Assert.Equal(VmiPhases.Running, status.Phase);
    }

    [Fact]
    public void ASourceThatHandedItsVmOverToATargetThatNeverRanItFailsTheVmi()
    {
        var vmi = Vmi(VmiPhases.Running);
        vmi.Status!.MigrationState = new MigrationState { MigrationUid = "m1", SourcePod = "podvisor-launcher-vm-abcde", StartTimestamp = Now, Failed = true };
        var status = Observe(vmi, HandedOverSource());
        Assert.Equal((VmiPhases.Failed, ConditionReasons.MigrationLost), (status.Phase, status.Reason));
    }

    [Fact]
    public void AfterACompletedMigrationTheTargetIsTheVmsPod()
    {
        var vmi = Vmi(VmiPhases.Running);
        vmi.Status!.MigrationState = new MigrationState { MigrationUid = "m1", SourcePod = "podvisor-launcher-vm-abcde", TargetPod = "target", StartTimestamp = Now, Completed = true };
        var target = Pod("Running", node: "node-b", ready: true);
        target.Metadata = new V1ObjectMeta { Name = "target", Uid = "target-uid", Labels = new Dictionary<string, string> { [LauncherLabels.MigrationTarget] = "m1" } };
        var status = Observe(vmi, HandedOverSource(), target);
        Assert.Equal((VmiPhases.Running, "node-b"), (status.Phase, status.NodeName));
        Assert.True(Conditions.IsTrue(status.Conditions, ConditionTypes.Ready));
    }
}
