using System.Diagnostics;
using Podvisor.Kvm;
using Podvisor.Kvm.Abi;
using Podvisor.Vmm.Migration;

namespace Podvisor.Vmm.Machine;

// The guest's clocks stand still while the VM is paused or migrating (as with QEMU, whose kvmclock stops
// with the VM): the guest sees no time jump on resume — a jump made Linux guests drop console input (a
// `read -t` that began before the pause timed out mid-line) — and none across a migration.
public sealed partial class VirtualMachine
{
    private int _tscKhz;
    private bool _tscDeadlineSaved;

    /// <summary>The clocks read at the last pause (null while running).</summary>
    private GuestClocks? _pausedClocks;

    /// <summary>
    /// Reads kvmclock, then each TSC brought back to the moment kvmclock was read (an ioctl takes milliseconds
    /// in a nested host). Each moment is taken as the call returns: the time before the system call (a first
    /// call's JIT compilation, tens of milliseconds in the emulated host) is not part of the reading.
    /// </summary>
    private GuestClocks CaptureClocks()
    {
        var clock = _vm.GetClock();
        long clockRead = Stopwatch.GetTimestamp();
        var tsc = new List<ulong>(_vcpus.Count);
        var deadlines = new List<ulong?>(_vcpus.Count);
        foreach (var vcpu in _vcpus)
        {
            var entries = _tscDeadlineSaved ? vcpu.GetMsrs(VcpuState.TscMsr, VcpuState.TscDeadlineMsr) : vcpu.GetMsrs(VcpuState.TscMsr);
            ulong value = entries[0].Data;
            tsc.Add(value - Math.Min(value, TscCycles(_tscKhz, Stopwatch.GetTimestamp() - clockRead)));
            deadlines.Add(_tscDeadlineSaved ? entries[1].Data : null);
        }
        return new GuestClocks(StructBytes.From(clock), tsc, deadlines, _tscKhz);
    }

    /// <summary>
    /// Sets kvmclock and the TSCs back to back (each TSC moved on by the time since kvmclock was set), then the
    /// TSC deadlines (armed against the restored TSC). KVM takes a TSC write within a second of what it expects
    /// as an attempt to synchronise vCPUs and keeps its old offset; the first vCPU's value is therefore
    /// preceded by one ten seconds away, so it is taken exactly, and the others (within a second of it) share
    /// its offset, as they did when read.
    /// </summary>
    private void RestoreClocks(GuestClocks clocks)
    {
        if (clocks.Tsc.Count != _vcpus.Count || clocks.TscDeadline.Count != _vcpus.Count)
            throw new ArgumentException($"clocks of {clocks.Tsc.Count} vCPUs for a VM of {_vcpus.Count}");
        ulong tenSeconds = (ulong)Math.Max(1, clocks.TscKhz) * 10_000;
        _vcpus[0].SetMsrs(new KvmMsrEntry(VcpuState.TscMsr, clocks.Tsc[0] + tenSeconds));
        var clock = StructBytes.To<KvmClockData>(clocks.Clock, "kvmclock") with { Flags = 0 };
        _vm.SetClock(clock);
        long clockSet = Stopwatch.GetTimestamp();
        for (int i = 0; i < _vcpus.Count; i++)
            _vcpus[i].SetMsrs(new KvmMsrEntry(VcpuState.TscMsr, clocks.Tsc[i] + TscCycles(clocks.TscKhz, Stopwatch.GetTimestamp() - clockSet)));
        for (int i = 0; i < _vcpus.Count; i++)
        {
            if (clocks.TscDeadline[i] is { } deadline) _vcpus[i].SetMsrs(new KvmMsrEntry(VcpuState.TscDeadlineMsr, deadline));
        }
    }

    /// <summary>TSC cycles in a <see cref="Stopwatch"/> interval at <paramref name="khz"/> (0: unknown rate, no cycles).</summary>
    private static ulong TscCycles(int khz, long stopwatchTicks) =>
        khz <= 0 || stopwatchTicks <= 0 ? 0 : (ulong)(stopwatchTicks * (double)khz * 1000 / Stopwatch.Frequency);
}
