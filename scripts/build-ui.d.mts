export const UI_MODULE_PATH: string;
export function bundleBrowser(entry: string): Promise<string>;
export function buildUiPage(): Promise<string>;
export function uiModuleSource(html: string): string;
