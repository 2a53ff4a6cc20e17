namespace Podvisor.Vmm.Acpi;

/// <summary>The Extended System Description Table: 64-bit pointers to every other table but the DSDT.</summary>
public static class Xsdt
{
    public static byte[] Build(IEnumerable<ulong> tableAddresses)
    {
        var t = new SystemDescriptionTable("XSDT", revision: 1);
        foreach (ulong address in tableAddresses) t.AppendUInt64(address);
        return t.Build();
    }
}
