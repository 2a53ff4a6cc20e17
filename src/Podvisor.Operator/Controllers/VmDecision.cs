namespace Podvisor.Operator.Controllers;

/// <summary>
/// The VirtualMachine controller's verdict for one observation: the action, how many state-change
/// requests (from the front of status.stateChangeRequests) are now carried out and can be dropped, and the
/// status the VM should show.
/// </summary>
public sealed record VmDecision(VmAction Action, int RequestsDone, string PrintableStatus, bool Created, bool Ready, string Why);
