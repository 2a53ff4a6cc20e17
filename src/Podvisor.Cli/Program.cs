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
    Podvisor.Cli.Cluster.StateChangeCommand.Start(),
    Podvisor.Cli.Cluster.StateChangeCommand.Stop(),
    Podvisor.Cli.Cluster.StateChangeCommand.Restart(),
    Podvisor.Cli.Cluster.PauseCommand.Pause(),
    Podvisor.Cli.Cluster.PauseCommand.Unpause(),
    Podvisor.Cli.Cluster.MigrateCommand.Create(),
    Podvisor.Cli.Cluster.MigrateCancelCommand.Create(),
    Podvisor.Cli.Cluster.ListCommand.Create(),
    Podvisor.Cli.Cluster.StatusCommand.Create(),
    VersionCommand.Create(),
    CompletionCommand.Create(),
};
if (args is [KubectlCompletion.Command, .. var words]) return await KubectlCompletion.RunAsync(root, words);
return await root.Parse(args).InvokeAsync();
