namespace Podvisor.Kvm;

/// <summary>
/// What provides this host's /dev/kvm. kvm_pvm (pagetable-based virtualisation, no VT-x/AMD-V) runs small
/// hand-built guests but not stock Linux kernels; kvm_intel / kvm_amd are hardware-assisted.
/// </summary>
public sealed record KvmBackend(bool DevicePresent, string? Module, bool CpuHasVirtualization)
{
    /// <summary>True when stock Linux guests can boot here (hardware-assisted KVM).</summary>
    public bool IsHardwareAssisted => DevicePresent && Module is "kvm_intel" or "kvm_amd" && CpuHasVirtualization;

    public string Describe() => (DevicePresent, Module) switch
    {
        (false, _) => "no /dev/kvm",
        (true, "kvm_pvm") => "kvm_pvm (pagetable-based virtualisation, no VT-x/AMD-V: hand-built guests only)",
        (true, "kvm_intel") => "kvm_intel (VT-x, hardware-assisted)",
        (true, "kvm_amd") => "kvm_amd (AMD-V, hardware-assisted)",
        (true, _) => "unknown KVM provider",
    };

    public static KvmBackend Detect(string sysModule = "/sys/module", string cpuinfo = "/proc/cpuinfo", string device = "/dev/kvm")
    {
        string? module = new[] { "kvm_pvm", "kvm_intel", "kvm_amd" }.FirstOrDefault(m => Directory.Exists(Path.Combine(sysModule, m)));
        bool virt = File.Exists(cpuinfo) && File.ReadLines(cpuinfo)
            .Where(l => l.StartsWith("flags", StringComparison.Ordinal))
            .Any(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Any(f => f is "vmx" or "svm"));
        return new KvmBackend(File.Exists(device), module, virt);
    }
}
