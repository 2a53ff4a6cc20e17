using System.CommandLine;
using Podvisor.Kvm;

namespace Podvisor.Cli;

/// <summary><c>podvisor kvm-info</c>: what this host's KVM is and supports.</summary>
internal static class KvmInfoCommand
{
    private static readonly KvmCapability[] Reported =
    [
        KvmCapability.UserMemory, KvmCapability.Irqchip, KvmCapability.Pit2, KvmCapability.Irqfd,
        KvmCapability.Ioeventfd, KvmCapability.IrqRouting, KvmCapability.ImmediateExit, KvmCapability.VcpuEvents,
        KvmCapability.Debugregs, KvmCapability.Xsave, KvmCapability.Xsave2, KvmCapability.Xcrs, KvmCapability.MpState,
        KvmCapability.AdjustClock, KvmCapability.GetTscKhz, KvmCapability.TscControl, KvmCapability.KvmclockCtrl,
        KvmCapability.ManualDirtyLogProtect2, KvmCapability.DirtyLogRing, KvmCapability.ReadonlyMem,
        KvmCapability.SplitIrqchip, KvmCapability.X2apicApi, KvmCapability.SignalMsi, KvmCapability.NrVcpus,
        KvmCapability.MaxVcpus, KvmCapability.MaxVcpuId, KvmCapability.NrMemslots,
    ];

    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = "KVM device node", DefaultValueFactory = _ => "/dev/kvm" };
        var cpuid = new Option<bool>("--cpuid") { Description = "also list every CPUID entry KVM supports" };
        var command = new Command("kvm-info", "Show what this host's KVM is (hardware-assisted or kvm_pvm) and what it supports.") { device, cpuid };
        command.SetAction(parse => Run(parse.GetValue(device)!, parse.GetValue(cpuid)));
        return command;
    }

    private static int Run(string device, bool listCpuid)
    {
        var backend = KvmBackend.Detect(device: device);
        Console.WriteLine($"KVM provider:       {backend.Describe()}");
        Console.WriteLine($"CPU virtualisation: {(backend.CpuHasVirtualization ? "yes (vmx/svm)" : "no vmx/svm flag")}");
        Kvm.Kvm kvm;
        try
        {
            kvm = Kvm.Kvm.Open(device);
        }
        catch (KvmException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine(e.Errno == Errnos.ENOENT
                ? "No KVM device: load kvm_intel/kvm_amd, or run VMs in the emulated KVM host (podvisor emulated-host)."
                : "Podvisor needs read/write access to the KVM device (root, or the kvm group).");
            return 1;
        }
        using (kvm)
        {
            using var vm = kvm.CreateVm();
            Console.WriteLine($"API version:        {kvm.ApiVersion}");
            Console.WriteLine($"vCPU mmap size:     {kvm.VcpuMmapSize} bytes");
            Console.WriteLine($"XSAVE area:         {vm.XsaveSize} bytes");
            Console.WriteLine($"supported CPUID:    {kvm.GetSupportedCpuid().Length} leaves");
            Console.WriteLine($"saveable MSRs:      {kvm.GetMsrIndexList().Length}");
            Console.WriteLine($"stock Linux guests: {(backend.IsHardwareAssisted ? "boot here" : "need the emulated KVM host (podvisor emulated-host)")}");
            Console.WriteLine("capabilities:");
            foreach (var cap in Reported)
            {
                int value = vm.CheckExtension(cap);
                string shown = value switch { 0 => "no", 1 => "yes", _ => value.ToString() };
                Console.WriteLine($"  {cap,-24} {shown}");
            }
            if (listCpuid)
            {
                Console.WriteLine("supported CPUID entries:");
                foreach (var entry in kvm.GetSupportedCpuid()) Console.WriteLine($"  {entry}");
            }
        }
        return 0;
    }
}
