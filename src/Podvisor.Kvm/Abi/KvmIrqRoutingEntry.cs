using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_irq_routing_entry: a GSI routed to an irqchip pin or delivered as an MSI.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmIrqRoutingEntry
{
    public const uint TypeIrqchip = 1, TypeMsi = 2;
    public const uint IrqchipPicMaster = 0, IrqchipPicSlave = 1, IrqchipIoapic = 2;

    public uint Gsi;
    public uint Type;
    public uint Flags;
    private uint _pad;
    /// <summary>The union: irqchip = (irqchip, pin); msi = (address_lo, address_hi, data, devid).</summary>
    public InlineU32x4 U0;
    private InlineU32x4 _u1;

    public static KvmIrqRoutingEntry ToIrqchip(uint gsi, uint irqchip, uint pin)
    {
        var e = new KvmIrqRoutingEntry { Gsi = gsi, Type = TypeIrqchip };
        e.U0[0] = irqchip;
        e.U0[1] = pin;
        return e;
    }

    public static KvmIrqRoutingEntry ToMsi(uint gsi, ulong address, uint data)
    {
        var e = new KvmIrqRoutingEntry { Gsi = gsi, Type = TypeMsi };
        e.U0[0] = (uint)address;
        e.U0[1] = (uint)(address >> 32);
        e.U0[2] = data;
        return e;
    }
}
