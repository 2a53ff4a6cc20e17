using System.Runtime.Intrinsics.X86;
using System.Text;

namespace Podvisor.Vmm.Cpu;

/// <summary>Facts about the CPU this VMM runs on, from the CPUID instruction.</summary>
public static class HostCpu
{
    private static readonly Lazy<bool> QemuTcg = new(DetectQemuTcg);

    /// <summary>
    /// True when this "CPU" is QEMU's TCG emulator (as inside the emulated KVM host). Its emulated SVM does
    /// not intercept a nested guest's XSETBV, so KVM never learns the guest's XCR0 and the guest's XSAVE
    /// size checks fail: guests must not be offered XSAVE there.
    /// </summary>
    public static bool IsQemuTcg => QemuTcg.Value;

    private static bool DetectQemuTcg()
    {
        if (!X86Base.IsSupported) return false;
        var (_, ebx, ecx, edx) = X86Base.CpuId(0x4000_0000, 0);
        string signature = Encoding.ASCII.GetString([.. BitConverter.GetBytes(ebx), .. BitConverter.GetBytes(ecx), .. BitConverter.GetBytes(edx)]);
        return signature == "TCGTCGTCGTCG" || BrandString().Contains("QEMU TCG CPU", StringComparison.Ordinal);
    }

    private static string BrandString()
    {
        var (maxExtended, _, _, _) = X86Base.CpuId(unchecked((int)0x8000_0000), 0);
        if ((uint)maxExtended < 0x8000_0004) return "";
        var bytes = new List<byte>();
        for (uint leaf = 0x8000_0002; leaf <= 0x8000_0004; leaf++)
        {
            var (a, b, c, d) = X86Base.CpuId(unchecked((int)leaf), 0);
            foreach (int r in new[] { a, b, c, d }) bytes.AddRange(BitConverter.GetBytes(r));
        }
        return Encoding.ASCII.GetString([.. bytes]).TrimEnd('\0', ' ');
    }
}
