using System.Runtime.InteropServices;
using Podvisor.Kvm.Interop;
using Tmds.Linux;

namespace Podvisor.Kvm.Tests;

/// <summary>
/// A signal arriving while a thread is inside a KVM ioctl makes the kernel give the call up with EINTR
/// (KVM_CREATE_VM does, from mm_take_all_locks). The .NET runtime and child processes send signals to
/// our threads at any moment; none of them may surface as a failed VM (it did once in CI).
/// </summary>
[Trait("Category", "Kvm")]
public sealed class SignalledCallerTests
{
    [Fact]
    public void VmsAreCreatedWhileTheirThreadIsShowered()
    {
        // A handled signal, so the kernel marks it pending rather than discarding it.
        using var handler = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, context => context.Cancel = true);
        using var kvm = Kvm.Open();
        int creatorTid = 0;
        var ready = new ManualResetEventSlim();
        var done = new CancellationTokenSource();
        long signalsSent = 0;

        var shower = new Thread(() =>
        {
            ready.Wait();
            int pid = Environment.ProcessId;
            while (!done.IsCancellationRequested)
            {
                Native.Tgkill(pid, creatorTid, LibC.SIGWINCH);
                signalsSent++;
                Thread.SpinWait(50);
            }
        }) { IsBackground = true };
        shower.Start();

        var failures = new List<string>();
        int created = 0;
        try
        {
            creatorTid = Native.GetTid();
            ready.Set();
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(2);
            while (DateTime.UtcNow < until)
            {
                try
                {
                    using var vm = kvm.CreateVm();
                    created++;
                }
                catch (KvmException e)
                {
                    failures.Add(e.Message);
                }
            }
        }
        finally
        {
            done.Cancel();
            shower.Join();
        }

        Assert.True(signalsSent > 100, $"only {signalsSent} signals were sent");
        Assert.True(created > 10, $"only {created} VMs were created");
        Assert.True(failures.Count == 0, $"{failures.Count} of {created + failures.Count} creations failed, first: {failures.FirstOrDefault()}");
    }
}
