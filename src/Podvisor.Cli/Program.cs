using System.CommandLine;
using Podvisor.Cli;
using Podvisor.Vmm.Diagnostics;

if (Environment.GetEnvironmentVariable("PODVISOR_TRACE") is "1")
    StartupTrace.Sink = line => Console.Error.WriteLine($"podvisor trace: {line}");
StartupTrace.Mark("main entered");

var root = new RootCommand("Podvisor: VMs as Kubernetes pods, on an in-house KVM VMM.")
{
    RunCommand.Create(),
    KvmInfoCommand.Create(),
    EmulatedHostCommand.Create(),
    Podvisor.Cli.Cluster.ConsoleCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
