namespace Podvisor.Api;

/// <summary>
/// What a start, stop or restart does to a VirtualMachine (<see cref="StateChangePlanner"/>): nothing, with the reason
/// (<see cref="Refused"/>); a new run strategy (<see cref="SetRunStrategy"/>); or requests for the operator to carry
/// out (<see cref="AddRequests"/>).
/// </summary>
public abstract record StateChangePlan
{
    private StateChangePlan() { }

    /// <summary>The change makes no sense in the VM's state; <paramref name="Why"/> says what to do instead.</summary>
    public sealed record Refused(string Why) : StateChangePlan;

    /// <summary>Change <c>spec.runStrategy</c> (or the older <c>spec.running</c>, if that is the field the VM uses).</summary>
    public sealed record SetRunStrategy(string RunStrategy) : StateChangePlan;

    /// <summary>Append to <c>status.stateChangeRequests</c>.</summary>
    public sealed record AddRequests(IReadOnlyList<StateChangeRequest> Requests) : StateChangePlan;
}
