namespace ControlPlane.Server.Auth;

public static class Roles
{
    public const string Operator = "operator";
    public const string Node = "node";
}

public static class Policies
{
    public const string Operator = "operator";
    public const string Node = "node";
}

public static class ControlPlaneClaims
{
    public const string Role = "role";
    public const string Subject = "sub";
    public const string TokenId = "jti";
}
