using System.Diagnostics;
using Podvisor.Testing;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Tests;

/// <summary>Watching a <see cref="TinyPvhGuest"/> counter guest from the host: its count, and polling for a condition with a deadline.</summary>
internal static class CountingGuestProbe
{
    public static uint Counter(VirtualMachine vm) => vm.Memory.ReadValue<uint>(new GuestAddress(TinyPvhGuest.CounterAddress));

    public static void WaitFor(Func<bool> condition, string what, double seconds = 20)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed.TotalSeconds > seconds) throw new TimeoutException($"waited {seconds} s for {what}");
            Thread.Sleep(5);
        }
    }
}
