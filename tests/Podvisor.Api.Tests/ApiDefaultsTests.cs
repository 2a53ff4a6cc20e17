namespace Podvisor.Api.Tests;

public sealed class ApiDefaultsTests
{
    [Theory]
    [InlineData(null, null, RunStrategies.Halted)]
    [InlineData(true, null, RunStrategies.Always)]
    [InlineData(false, null, RunStrategies.Halted)]
    [InlineData(null, RunStrategies.Manual, RunStrategies.Manual)]
    public void RunStrategyComesFromRunningOrIsHalted(bool? running, string? strategy, string expected)
    {
        var vm = new VirtualMachine { Spec = new() { Running = running, RunStrategy = strategy } };
        ApiDefaults.Apply(vm);
        Assert.Equal(expected, vm.Spec.RunStrategy);
    }

    [Fact]
    public void DomainDefaultsFillOnlyWhatIsUnsetAndAreIdempotent()
    {
        var spec = new VirtualMachineInstanceSpec
        {
            Domain = new()
            {
                Cpu = new() { Cores = 4 },
                Resources = new() { Requests = new() { ["memory"] = "512Mi" } },
                Devices = new() { Disks = [new() { Name = "d" }], AutoattachMemBalloon = false },
            },
        };
        ApiDefaults.Apply(spec);
        ApiDefaults.Apply(spec);
        var domain = spec.Domain;
        Assert.Equal((1, 4, 1), (domain.Cpu.Sockets, domain.Cpu.Cores, domain.Cpu.Threads));
        Assert.Equal(4, domain.Vcpus());
        Assert.Equal("512Mi", domain.Memory!.Guest);
        Assert.Equal(512UL << 20, domain.GuestMemoryBytes());
        Assert.Equal("virtio", domain.Devices.Disks[0].DiskTarget!.Bus);
        Assert.False(domain.Devices.AutoattachMemBalloon);
        Assert.True(domain.Devices.AutoattachSerialConsole);
        Assert.Equal(EvictionStrategies.None, spec.EvictionStrategy);
    }

    [Theory]
    [InlineData("256Mi", 256UL << 20)]
    [InlineData("1Gi", 1UL << 30)]
    [InlineData("1G", 1_000_000_000UL)]
    [InlineData("1.5Gi", 3UL << 29)]
    [InlineData("1e9", 1_000_000_000UL)]
    [InlineData("1024", 1024UL)]
    public void QuantitiesParseToBytes(string text, ulong bytes)
    {
        Assert.True(Quantities.TryParseBytes(text, out ulong parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("lots")]
    [InlineData("-1Gi")]
    [InlineData("1.5")]
    [InlineData(null)]
    public void BadQuantitiesDoNotParse(string? text) => Assert.False(Quantities.TryParseBytes(text, out _));
}
