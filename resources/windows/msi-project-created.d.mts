export declare const POLICY_PROPERTIES: readonly (readonly [property: string, parameter: string])[]
export declare function addShoalPolicy(wxs: string): string
export declare function msiProjectCreated(projectFile: string): Promise<void>
