namespace Podvisor.EmulatedHost;

/// <summary>Just enough ELF reading to tell a static executable from a dynamic one.</summary>
public static class ElfInfo
{
    private const uint PtInterp = 3;

    /// <summary>True when the file is a 64-bit ELF with no program interpreter (statically linked).</summary>
    public static bool IsStatic64(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        if (reader.BaseStream.Length < 64 || reader.ReadUInt32() != 0x464C457F /* \x7fELF */ || reader.ReadByte() != 2)
            return false;
        reader.BaseStream.Position = 0x20;
        ulong phoff = reader.ReadUInt64();
        reader.BaseStream.Position = 0x36;
        ushort phentsize = reader.ReadUInt16();
        ushort phnum = reader.ReadUInt16();
        for (int i = 0; i < phnum; i++)
        {
            reader.BaseStream.Position = (long)phoff + i * phentsize;
            if (reader.ReadUInt32() == PtInterp) return false;
        }
        return true;
    }
}
