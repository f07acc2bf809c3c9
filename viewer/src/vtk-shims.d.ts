// vtk.js ships no type declarations for these two modules; only what the viewer uses is declared.
declare module '@kitware/vtk.js/Rendering/Core/CubeAxesActor' {
  import type vtkActor from '@kitware/vtk.js/Rendering/Core/Actor';
  import type vtkCamera from '@kitware/vtk.js/Rendering/Core/Camera';
  export interface vtkCubeAxesActor extends vtkActor {
    setCamera(camera: vtkCamera): void;
    setDataBounds(bounds: number[]): boolean;
    setAxisLabels(labels: string[]): boolean;
    setGridLines(on: boolean): boolean;
    setAxisTextStyle(style: Record<string, unknown>): void;
    setTickTextStyle(style: Record<string, unknown>): void;
    setGenerateTicks(fn: unknown): boolean;
  }
  const vtkCubeAxesActor: { newInstance(initial?: Record<string, unknown>): vtkCubeAxesActor; defaultGenerateTicks: unknown };
  export default vtkCubeAxesActor;
}
declare module '@kitware/vtk.js/Filters/General/ImageMarchingCubes' {
  import type vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
  import type vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
  export interface vtkImageMarchingCubes {
    setInputData(data: vtkImageData): void;
    setContourValue(v: number): boolean;
    setComputeNormals(on: boolean): boolean;
    setMergePoints(on: boolean): boolean;
    getOutputData(): vtkPolyData;
    update(): void;
  }
  const vtkImageMarchingCubes: { newInstance(initial?: Record<string, unknown>): vtkImageMarchingCubes };
  export default vtkImageMarchingCubes;
}
declare module '@kitware/vtk.js/Filters/Core/PolyDataNormals' {
  import type vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
  export interface vtkPolyDataNormals {
    setInputData(data: vtkPolyData): void;
    getOutputData(): vtkPolyData;
    update(): void;
  }
  const vtkPolyDataNormals: { newInstance(initial?: Record<string, unknown>): vtkPolyDataNormals };
  export default vtkPolyDataNormals;
}
