using System.Diagnostics;

namespace Podvisor.EmulatedHost.Tests;

public sealed class JobScriptTests
{
    [Fact]
    public void ScriptRunsTheCommandWithArgumentsEnvironmentAndDirectoryIntact()
    {
        string dir = Directory.CreateTempSubdirectory("podvisor job 'dir' ").FullName;
        try
        {
            string script = EmulatedKvmHost.JobScript(
                ["/bin/sh", "-c", "printf '%s|%s|%s|%s' \"$1\" \"$2\" \"$PODVISOR_TEST\" \"$(pwd)\"", "argv0", "it's", "a $b `c`"],
                dir, new Dictionary<string, string> { ["PODVISOR_TEST"] = "x'y\"z" });
            string path = Path.Combine(dir, "job.sh");
            File.WriteAllText(path, script);
            var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, ArgumentList = { path } };
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.Equal($"it's|a $b `c`|x'y\"z|{dir}", output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
