using System.CommandLine;
using Podvisor.Cli;

var root = new RootCommand("Podvisor: VMs as Kubernetes pods, on an in-house KVM VMM.")
{
    RunCommand.Create(),
    KvmInfoCommand.Create(),
    EmulatedHostCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
