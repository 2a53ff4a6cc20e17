using System.Diagnostics;
using Podvisor.Kvm.Tests.Guests;

namespace Podvisor.Kvm.Tests;

/// <summary>A vCPU spinning in the guest is kicked out of KVM_RUN from another thread.</summary>
[Trait("Category", "Kvm")]
public sealed class KickTests
{
    private static TestGuest SpinningGuest() => new(GuestMode.Long, a =>
    {
        var spin = a.CreateLabel();
        a.Label(ref spin);
        a.jmp(spin);
    });

    [Fact]
    public void KickInterruptsASpinningGuest()
    {
        using var guest = SpinningGuest();
        var reasons = new List<VcpuExitReason>();
        var started = new ManualResetEventSlim();
        var vcpuThread = new Thread(() =>
        {
            started.Set();
            reasons.Add(guest.Vcpu.Run().Reason);
            reasons.Add(guest.Vcpu.Run().Reason);
        });
        vcpuThread.Start();
        started.Wait(TestContext.Current.CancellationToken);

        for (int i = 0; i < 2; i++)
        {
            Thread.Sleep(100);       // let the thread get into KVM_RUN
            guest.Vcpu.Kick();
            var waited = Stopwatch.StartNew();
            while (reasons.Count <= i && waited.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(5);
        }

        Assert.True(vcpuThread.Join(TimeSpan.FromSeconds(30)), "the vCPU thread did not come back after two kicks");
        Assert.Equal([VcpuExitReason.Intr, VcpuExitReason.Intr], reasons);
        Assert.False(guest.Vcpu.ImmediateExit);
    }

    [Fact]
    public void KickBeforeRunMakesTheNextRunReturnAtOnce()
    {
        using var guest = SpinningGuest();
        guest.Vcpu.Kick();
        Assert.Equal(VcpuExitReason.Intr, guest.Vcpu.Run().Reason);
    }

    [Fact]
    public void KickAfterTheThreadLeftIsHarmless()
    {
        using var guest = SpinningGuest();
        guest.Vcpu.Kick();
        Assert.Equal(VcpuExitReason.Intr, guest.Vcpu.Run().Reason);
        guest.Vcpu.Kick();
        guest.Vcpu.Kick();
        Assert.Equal(VcpuExitReason.Intr, guest.Vcpu.Run().Reason);
    }
}
