namespace ControlPlane.Server.Auth;

public static class Roles
{
    public const string Operator = "operator";
    public const string Node = "node";
    public const string Gateway = "gateway";
    public const string Customer = "customer";

    /// <summary>A join token: it enrols a node (<c>POST /agent/v1/enrol</c>) and does nothing else.</summary>
    public const string Join = "join";

    /// <summary>Roles an operator may issue tokens for through the admin API.</summary>
    public static readonly string[] Issuable = [Gateway, Customer, Operator];
}

public static class Policies
{
    public const string Operator = "operator";
    public const string Node = "node";
    public const string Gateway = "gateway";
    public const string Customer = "customer";
    public const string Join = "join";
}

public static class ControlPlaneClaims
{
    public const string Role = "role";
    public const string Subject = "sub";
    public const string TokenId = "jti";

    /// <summary>When an issued token expires, in unix seconds (absent for the bootstrap and node tokens).</summary>
    public const string Expires = "exp";
}
