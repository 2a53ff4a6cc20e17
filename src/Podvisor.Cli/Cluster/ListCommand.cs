using System.CommandLine;
using Podvisor.Api;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// <c>podvisor list</c>: the namespace's VMs (or every namespace's, with <c>-A</c>) as a table — status as the operator
/// prints it, whether ready, the node and IP of the running instance, age — and instances created without a VM.
/// </summary>
internal static class ListCommand
{
    public static Command Create()
    {
        var all = new Option<bool>("--all-namespaces", "-A") { Description = "list the VMs of every namespace" };
        var cluster = new ClusterOptions();
        var command = new Command("list", "List VMs with their status, node and IP.") { all };
        command.Aliases.Add("ls");
        cluster.AddTo(command);
        command.SetAction((parse, ct) => ClusterAction.RunAsync(cluster, parse, async connection =>
        {
            bool everywhere = parse.GetValue(all);
            var resources = new VmResources(connection.Api, connection.Namespace);
            var vms = await resources.ListVmsAsync(everywhere, ct);
            var vmis = (await resources.ListVmisAsync(everywhere, ct)).ToDictionary(Key);
            var now = DateTime.UtcNow;
            var table = everywhere ? new TextTable("NAMESPACE", "NAME", "STATUS", "READY", "NODE", "IP", "AGE") : new TextTable("NAME", "STATUS", "READY", "NODE", "IP", "AGE");
            void Row(string ns, string name, string status, bool ready, VirtualMachineInstance? vmi, DateTime? created)
            {
                string[] cells = [name, status, ready ? "True" : "False", vmi?.Status?.NodeName ?? "", Ip(vmi), TextTable.Age(created, now)];
                table.Add(everywhere ? [ns, .. cells] : cells);
            }
            foreach (var vm in vms.OrderBy(v => v.Metadata.NamespaceProperty).ThenBy(v => v.Metadata.Name))
            {
                vmis.Remove(Key(vm.Metadata.NamespaceProperty, vm.Metadata.Name), out var vmi);
                Row(vm.Metadata.NamespaceProperty, vm.Metadata.Name, vm.Status?.PrintableStatus ?? PrintableStatuses.Unknown, vm.Status?.Ready == true, vmi,
                    vm.Metadata.CreationTimestamp);
            }
            foreach (var vmi in vmis.Values.OrderBy(v => v.Metadata.NamespaceProperty).ThenBy(v => v.Metadata.Name))
                Row(vmi.Metadata.NamespaceProperty, vmi.Metadata.Name, $"{vmi.Status?.Phase ?? VmiPhases.Pending} (instance only)",
                    ConditionLookup.IsTrue(vmi.Status?.Conditions, ConditionTypes.Ready), vmi, vmi.Metadata.CreationTimestamp);
            if (table.Count == 0)
                Console.Error.WriteLine(everywhere ? "No VMs in any namespace." : $"No VMs in namespace {connection.Namespace}.");
            else
                table.WriteTo(Console.Out);
            return 0;
        }));
        return command;
    }

    private static string Key(VirtualMachineInstance vmi) => Key(vmi.Metadata.NamespaceProperty, vmi.Metadata.Name);

    private static string Key(string ns, string name) => $"{ns}/{name}";

    /// <summary>The first interface's first address, as kubectl get vmi shows it.</summary>
    public static string Ip(VirtualMachineInstance? vmi) => vmi?.Status?.Interfaces?.Select(i => i.IpAddress).FirstOrDefault(a => !string.IsNullOrEmpty(a)) ?? "";
}
