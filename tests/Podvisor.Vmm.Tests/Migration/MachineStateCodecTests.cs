using System.Text.Json;
using Podvisor.Vmm.Devices.Acpi;
using Podvisor.Vmm.Devices.Legacy;
using Podvisor.Vmm.Devices.Serial;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Migration;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Tests.Migration;

/// <summary>The binary machine state: every field back as it went, and a damaged payload refused naming what is wrong.</summary>
public sealed class MachineStateCodecTests
{
    private static byte[] Filled(int length, byte seed) => [.. Enumerable.Range(0, length).Select(i => (byte)(i * 7 + seed))];

    /// <summary>Two vCPUs (one with XSAVE, one with the legacy FPU area), optional values both present and absent, two virtio devices.</summary>
    private static MachineState Sample() => new(
        2, 512UL << 20,
        [
            new VcpuState(0, Filled(144, 1), Filled(312, 2), Filled(4096, 3), null, Filled(392, 4), Filled(128, 5), Filled(1024, 6), Filled(64, 7), 0,
                [new SavedMsr(0x10, 123456789012), new SavedMsr(0x4b564d01, ulong.MaxValue)], 2_500_000),
            new VcpuState(1, Filled(144, 8), Filled(312, 9), null, Filled(416, 10), null, Filled(128, 11), Filled(1024, 12), Filled(64, 13), 3, [], 0),
        ],
        Filled(40, 20), Filled(40, 21), Filled(200, 22), Filled(112, 23),
        new GuestClocks(Filled(48, 24), [1UL << 40, 2UL << 40], [null, 987654321], 2_500_000),
        new UartState(1, 3, 0x0b, 0x55, 1, 0, 0xc7, true, Filled(5, 25)),
        new CmosState(0x0a, Filled(128, 26)),
        new I8042State(0x1c, 0x61, 0x03, 0xd1, null, [0xab, 0x41], 0xed, 3),
        new AcpiPmState(0x8000, 0x0100, 0x2001),
        [
            new VirtioMmioState(VirtioDeviceType.Block, 0x0f, 0x1_3000_0246, 1, 0, 0, 1, 2,
                [new VirtqueueState(256, true, 0x1000_0000, 0x1000_1000, 0x1000_2000, 17, 16, 15, true, true, false)], []),
            new VirtioMmioState(VirtioDeviceType.Net, 0x0f, 0x1_0000_0023, 0, 1, 1, 0, 0,
                [new VirtqueueState(256, true, 1, 2, 3, 0, 0, 0, false, false, true), new VirtqueueState(128, false, 0, 0, 0, 0, 0, 0, false, false, false)],
                Filled(12, 27)),
        ]);

    private static string Json(MachineState state) => JsonSerializer.Serialize(state, MigrationJson.Default.MachineState);

    [Fact]
    public void EveryFieldComesBackAsItWent()
    {
        var sample = Sample();
        var encoded = MachineStateCodec.Encode(sample);
        Assert.Equal(Json(sample), Json(MachineStateCodec.Decode(encoded)));
        // What it saves inside the downtime: the same state as version 1's JSON was this much larger.
        Assert.True(encoded.Length * 4 < JsonSerializer.SerializeToUtf8Bytes(sample, MigrationJson.Default.MachineState).Length * 3,
            $"{encoded.Length} bytes binary");
    }

    [Fact]
    public void AStateCutShortAnywhereIsRefused()
    {
        var encoded = MachineStateCodec.Encode(Sample());
        for (int length = 0; length < encoded.Length; length++)
        {
            var e = Assert.Throws<MigrationException>(() => MachineStateCodec.Decode(encoded[..length]));
            Assert.Contains("machine state", e.Message);
        }
    }

    [Fact]
    public void BytesLeftOverAreRefused()
    {
        byte[] longer = [.. MachineStateCodec.Encode(Sample()).ToArray(), 0];
        Assert.Contains("1 bytes more", Assert.Throws<MigrationException>(() => MachineStateCodec.Decode(longer)).Message);
    }

    [Fact]
    public void ImpossibleLengthsAndValuesAreRefusedNamingTheField()
    {
        byte[] encoded = MachineStateCodec.Encode(Sample()).ToArray();
        // The vCPU count (after cpus and memory size) claims two billion vCPUs: refused, nothing allocated for them.
        byte[] manyVcpus = [.. encoded];
        BitConverter.TryWriteBytes(manyVcpus.AsSpan(12), int.MaxValue);
        Assert.Contains("vCPUs has 2147483647 items", Assert.Throws<MigrationException>(() => MachineStateCodec.Decode(manyVcpus)).Message);
        // The first vCPU's register block claims a negative length.
        byte[] negative = [.. encoded];
        BitConverter.TryWriteBytes(negative.AsSpan(20), -5);
        Assert.Contains("registers", Assert.Throws<MigrationException>(() => MachineStateCodec.Decode(negative)).Message);
    }

    [Fact]
    public void AnUnknownVirtioDeviceTypeIsRefused()
    {
        var sample = Sample();
        var unknown = sample with { Virtio = [sample.Virtio[0] with { DeviceType = (VirtioDeviceType)77 }] };
        Assert.Contains("unknown type 77", Assert.Throws<MigrationException>(() => MachineStateCodec.Decode(MachineStateCodec.Encode(unknown))).Message);
    }
}
