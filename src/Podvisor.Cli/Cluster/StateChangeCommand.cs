using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;
using Podvisor.Api;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// <c>podvisor start|stop|restart VM</c>: what virtctl's verbs do, decided by <see cref="StateChangePlanner"/> from the VM
/// and its instance as read — a run-strategy change, or start/stop requests in the VM's status for the operator — and
/// written with the resourceVersion read, so a VM changed meanwhile is read and decided again, never overwritten.
/// </summary>
internal static class StateChangeCommand
{
    private const int Attempts = 5;

    public static Command Start() => Create("start", "Start a stopped VM.", StateChangePlanner.Start, "start");

    public static Command Stop() => Create("stop", "Stop a running VM (its instance is deleted; the VM stays).", StateChangePlanner.Stop, "stop");

    public static Command Restart() => Create("restart", "Restart a running VM on a new instance.", StateChangePlanner.Restart, "restart");

    private static Command Create(string verb, string description, Func<VirtualMachine, VirtualMachineInstance?, StateChangePlan> plan, string done)
    {
        return VmCommand.Create(verb, description, async context =>
        {
            await ApplyAsync(context.Resources, context.Vm, plan, context.CancellationToken);
            Console.WriteLine($"VM {context.Namespace}/{context.Vm} was scheduled to {done}");
            return 0;
        });
    }

    private static async Task ApplyAsync(VmResources resources, string name, Func<VirtualMachine, VirtualMachineInstance?, StateChangePlan> decide,
        CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            var vm = await resources.RequireVmAsync(name, cancellationToken);
            var vmi = await resources.GetVmiAsync(name, cancellationToken);
            try
            {
                switch (decide(vm, vmi))
                {
                    case StateChangePlan.Refused refused:
                        throw new ClusterException(refused.Why);
                    case StateChangePlan.SetRunStrategy set:
                        // A VM that says `running:` keeps that field (both together are invalid).
                        var spec = vm.Spec.RunStrategy is null && vm.Spec.Running is not null
                            ? new JsonObject { ["running"] = set.RunStrategy == RunStrategies.Always }
                            : new JsonObject { ["runStrategy"] = set.RunStrategy };
                        await resources.PatchVmAsync(vm, new JsonObject { ["spec"] = spec }, cancellationToken);
                        return;
                    case StateChangePlan.AddRequests add:
                        vm.Status ??= new VirtualMachineStatus();
                        vm.Status.StateChangeRequests = [.. vm.Status.StateChangeRequests ?? [], .. add.Requests];
                        await resources.ReplaceVmStatusAsync(vm, cancellationToken);
                        return;
                }
            }
            catch (ApiServerException e) when (e.StatusCode == HttpStatusCode.Conflict && attempt < Attempts)
            {
                // Changed since we read it (the operator writes its status often): read and decide again.
            }
        }
    }
}
