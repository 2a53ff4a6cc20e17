using System.Diagnostics;
using Podvisor.Vmm.Acpi;
using Podvisor.Vmm.Machine;

namespace Podvisor.Vmm.Tests;

/// <summary>The DSDT's AML, read back by ACPICA's own disassembler (iasl, Debian's acpica-tools): the same
/// interpreter family Linux runs, so what it prints is what a guest sees.</summary>
public sealed class DsdtTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-dsdt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Disassemble(byte[] table)
    {
        string aml = Path.Combine(_dir, "dsdt.aml");
        File.WriteAllBytes(aml, table);
        var start = new ProcessStartInfo("iasl", ["-d", aml]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var iasl = Process.Start(start) ?? throw new InvalidOperationException("iasl did not start: apt-get install acpica-tools");
        string output = iasl.StandardOutput.ReadToEnd() + iasl.StandardError.ReadToEnd();
        iasl.WaitForExit();
        Assert.True(iasl.ExitCode == 0, $"iasl -d failed: {output}");
        return File.ReadAllText(Path.Combine(_dir, "dsdt.dsl"));
    }

    [Fact]
    public void EveryVirtioWindowIsAnLnro0005DeviceWithItsMemoryAndEdgeInterrupt()
    {
        var windows = Enumerable.Range(0, MmioLayout.MaxDevices).Select(MmioLayout.WindowOf).ToList();
        string dsl = Disassemble(Dsdt.Build(windows));

        Assert.Contains("Name (_S5, Package (0x04)", dsl);
        Assert.Contains("Scope (\\_SB)", dsl);
        for (int i = 0; i < windows.Count; i++)
        {
            string device = Between(dsl, $"Device (V{i:D3})", "})");
            Assert.Contains("Name (_HID, \"LNRO0005\")", device);
            Assert.Contains($"Name (_UID, {(i == 0 ? "Zero" : i == 1 ? "One" : $"0x{i:X2}")})", device);
            Assert.Contains($"Memory32Fixed (ReadWrite,\n                    0x{windows[i].Base:X8},         // Address Base\n                    0x00001000,         // Address Length", device);
            Assert.Contains($"Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )\n                {{\n                    0x{windows[i].Irq:X8},", device);
        }
        Assert.DoesNotContain($"Device (V{windows.Count:D3})", dsl);
    }

    [Fact]
    public void WithoutVirtioDevicesOnlyTheSleepStateIsDeclared()
    {
        string dsl = Disassemble(Dsdt.Build([]));
        Assert.Contains("Name (_S5, Package (0x04)", dsl);
        Assert.DoesNotContain("Device (", dsl);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(62, 1)]          // 63 in all: the largest one-byte length
    [InlineData(63, 2)]
    [InlineData(4093, 2)]        // 4095 in all: the largest two-byte length
    [InlineData(4094, 3)]
    [InlineData(1 << 19, 3)]
    [InlineData(1 << 20, 4)]
    public void PackageLengthTakesAsFewBytesAsItCanAndCountsItself(int contents, int lengthBytes)
    {
        byte[] encoded = Aml.PackageLength(new byte[contents]);
        Assert.Equal(contents + lengthBytes, encoded.Length);
        int following = lengthBytes == 1 ? 0 : encoded[0] >> 6;
        Assert.Equal(lengthBytes - 1, following);
        int decoded = following == 0 ? encoded[0] & 0x3f : encoded[0] & 0x0f;
        for (int i = 1; i <= following; i++) decoded |= encoded[i] << (4 + 8 * (i - 1));
        Assert.Equal(encoded.Length, decoded);
    }

    [Theory]
    [InlineData("_sb_")]
    [InlineData("V00")]
    [InlineData("0ABC")]
    public void NamesThatAreNotSegmentsAreRefused(string name) =>
        Assert.Throws<ArgumentException>(() => Aml.Device(name));

    private static string Between(string text, string start, string end)
    {
        int from = text.IndexOf(start, StringComparison.Ordinal);
        Assert.True(from >= 0, $"{start} is not in the disassembly:\n{text}");
        int to = text.IndexOf(end, from, StringComparison.Ordinal);
        return text[from..(to < 0 ? text.Length : to + end.Length)];
    }
}
