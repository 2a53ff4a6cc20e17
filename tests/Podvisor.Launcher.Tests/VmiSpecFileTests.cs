namespace Podvisor.Launcher.Tests;

public sealed class VmiSpecFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-spec-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string json)
    {
        string path = Path.Combine(_dir, "spec.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void AValidSpecIsReadWithDefaults()
    {
        var vmi = VmiSpecFile.Read(Write(TestVmi.Json()));
        Assert.Equal("vm1", vmi.Metadata.Name);
        Assert.Equal(2, vmi.Spec.Domain!.Cpu!.Cores);
    }

    [Fact]
    public void BadInputSaysWhatIsWrong()
    {
        Assert.Contains("cannot read", Assert.Throws<LauncherException>(() => VmiSpecFile.Read(Path.Combine(_dir, "missing.json"))).Message);
        Assert.Contains("is not a VirtualMachineInstance", Assert.Throws<LauncherException>(() => VmiSpecFile.Read(Write("{ not json"))).Message);
        var e = Assert.Throws<LauncherException>(() => VmiSpecFile.Read(Write(TestVmi.Json().Replace("\"cores\": 2", "\"cores\": 0"))));
        Assert.Contains("spec.domain.cpu.cores", e.Message);
    }
}
